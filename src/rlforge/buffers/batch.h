// Sampled data handed out by the buffers: one contiguous block per field, reused between calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rlforge/core/spaces.h"

namespace rlforge::buffers {

struct BatchField {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;  // e.g. (N x B x obs) per agent, (B x ...) global
  std::vector<uint8_t> data;   // elements, C order   (product(shape) x itemsize)

  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data.data());
  }
  int64_t numel() const;
  void Resize(DType type, std::vector<int64_t> new_shape);  // reuses the allocation when it can
};

struct Batch {
  std::vector<BatchField> fields;  // in schema order
  std::vector<int64_t> indices;    // ring rows the batch came from   (B)

  const BatchField& operator[](std::string_view name) const;
  BatchField& operator[](std::string_view name);
};

// Whole episodes concatenated on the time axis, each in time order.
struct EpisodeBatch : Batch {
  std::vector<int64_t> starts;   // offset of each episode in the time axis   (E)
  std::vector<int64_t> lengths;  // its length                                 (E)
};

// A strided view of one field over an episode (torch::from_blob takes shape and strides as is).
struct FieldView {
  const uint8_t* data = nullptr;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;    // (N x L x ...) per agent, (L x ...) global
  std::vector<int64_t> strides;  // in elements, one per dim
};

struct EpisodeView {
  int64_t start = 0;  // ring row of its first step
  int64_t length = 0;
  std::vector<FieldView> fields;  // in schema order
  Batch copy;                     // storage for an episode that wraps around the ring
};

}  // namespace rlforge::buffers
