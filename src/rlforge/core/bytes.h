// Flat binary snapshots: values appended in order, read back in the same order. Used for env
// and vector-env state inside checkpoints.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rlforge/core/error.h"

namespace rlforge {

class ByteWriter {
 public:
  template <typename T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void PutBytes(const void* data, size_t size) {
    Put<uint64_t>(size);
    out_.append(static_cast<const char*>(data), size);
  }
  void PutString(std::string_view s) { PutBytes(s.data(), s.size()); }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    PutBytes(v.data(), v.size() * sizeof(T));
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in, std::string what = "snapshot")
      : in_(in), what_(std::move(what)) {}
  template <typename T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    Need(sizeof(T));
    T value;
    std::memcpy(&value, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string_view GetBytes() {
    const auto size = Get<uint64_t>();
    Need(size);
    const std::string_view out = in_.substr(pos_, size);
    pos_ += size;
    return out;
  }
  std::string GetString() { return std::string(GetBytes()); }
  template <typename T>
  std::vector<T> GetVector() {
    const std::string_view b = GetBytes();
    if (b.size() % sizeof(T) != 0) throw Error(what_ + ": corrupt (bad array size)");
    std::vector<T> v(b.size() / sizeof(T));
    if (!b.empty())
      std::memcpy(v.data(), b.data(), b.size());  // (an empty vector's data() may be null)
    return v;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  void Need(uint64_t n) const {
    if (n > in_.size() - pos_)
      throw Error(what_ + ": corrupt or truncated (needs more bytes than it holds)");
  }
  std::string_view in_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace rlforge
