// Named tensors in Hugging Face's safetensors format, read and written without LibTorch:
//
//   8 bytes   little-endian u64 N, the header's length
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [out, in], "data_offsets": [begin, end]},
//                    ..., "__metadata__": {"key": "text", ...}}, padded with spaces to 8 bytes
//   rest      the tensors' little-endian bytes, back to back, offsets relative to the rest
//
// `safetensors.numpy.load_file` / `safetensors.torch.load_file` read what WriteSafetensors writes.
// Reading checks everything a damaged or foreign file could get wrong and names the file and key.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlforge/core/spaces.h"

namespace rlforge::io {

struct Tensor {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;  // empty: a scalar
  std::string bytes;           // little-endian elements, row-major   (numel x itemsize)

  int64_t numel() const;
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
};

// An ordered set of named tensors plus a string-to-string metadata map: what a checkpoint holds.
class TensorDict {
 public:
  // Adds (or replaces) `name` as a copy of `values` with `shape` (numel must match).
  template <typename T>
  void Put(const std::string& name, std::span<const T> values, std::vector<int64_t> shape = {}) {
    if (shape.empty() && values.size() != 1) shape = {static_cast<int64_t>(values.size())};
    PutBytes(name, DTypeOf<T>(), std::move(shape), values.data(), values.size_bytes());
  }
  template <typename T>
  void Put(const std::string& name, const std::vector<T>& values, std::vector<int64_t> shape = {}) {
    Put<T>(name, std::span<const T>(values), std::move(shape));
  }
  void PutBytes(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                size_t size);
  void PutText(const std::string& name, std::string_view text);  // a U8 tensor

  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }
  // The tensor `name`, or an Error naming `source_` and the key.
  const Tensor& Get(const std::string& name) const;
  // Copies `name` into `out`, which must have exactly its dtype and element count (and `shape`
  // when given); else an Error naming the key, what it holds and what was expected.
  template <typename T>
  void Read(const std::string& name, std::span<T> out,
            const std::vector<int64_t>& shape = {}) const;
  template <typename T>
  void Read(const std::string& name, std::vector<T>& out,
            const std::vector<int64_t>& shape = {}) const {
    Read<T>(name, std::span<T>(out), shape);
  }
  template <typename T>
  T Scalar(const std::string& name) const {
    T value;
    Read<T>(name, std::span<T>(&value, 1));
    return value;
  }
  std::string Text(const std::string& name) const;

  std::map<std::string, std::string>& metadata() { return metadata_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The metadata entry `key`, or an Error naming the file and the key.
  const std::string& Meta(const std::string& key) const;
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  // What errors name as the origin ("runs/x/checkpoints/latest.safetensors").
  const std::string& source() const { return source_; }
  void set_source(std::string source) { source_ = std::move(source); }

 private:
  [[noreturn]] void Fail(const std::string& key, const std::string& what) const;

  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
  std::string source_ = "checkpoint";
};

// The safetensors bytes of `dict`; its metadata gains "rlforge.data_crc32c", the CRC32C of the
// tensor bytes, and "rlforge.header_crc32c", that of the header (names, dtypes, shapes, offsets,
// metadata), which DecodeSafetensors checks when present.
std::string EncodeSafetensors(const TensorDict& dict);
// Parses safetensors bytes; `source` names them in errors.
TensorDict DecodeSafetensors(std::string_view bytes, const std::string& source);

// Atomic write (temp file in the same folder, fsync, rename, fsync of the folder).
void WriteSafetensors(const std::string& path, const TensorDict& dict);
TensorDict ReadSafetensors(const std::string& path);

const char* SafetensorsDType(DType dtype);  // "F32", "I64", ...
size_t ItemSize(DType dtype);

template <typename T>
void TensorDict::Read(const std::string& name, std::span<T> out,
                      const std::vector<int64_t>& shape) const {
  const Tensor& t = Get(name);
  if (t.dtype != DTypeOf<T>())
    Fail(name, std::string("holds ") + SafetensorsDType(t.dtype) + ", expected " +
                   SafetensorsDType(DTypeOf<T>()));
  if ((!shape.empty() && t.shape != shape) || t.numel() != static_cast<int64_t>(out.size())) {
    std::string want = "[";
    if (shape.empty()) {
      want += std::to_string(out.size());
    } else {
      for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    }
    std::string got = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) got += (i ? ", " : "") + std::to_string(t.shape[i]);
    Fail(name, "has shape " + got + "], expected " + want + "] (does it match this config?)");
  }
  if (!out.empty()) std::memcpy(out.data(), t.bytes.data(), out.size_bytes());
}

}  // namespace rlforge::io
