// A zero-initialized byte array for large storage: 2 MiB aligned and advised to use transparent
// huge pages, so random row access (replay sampling) does not miss the TLB on every row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rlforge {

class HugeArray {
 public:
  HugeArray() = default;
  explicit HugeArray(size_t size, bool zero = true);
  HugeArray(HugeArray&&) noexcept = default;
  HugeArray& operator=(HugeArray&&) noexcept = default;

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], Free> data_;
  size_t size_ = 0;
};

}  // namespace rlforge
