#include "rlforge/buffers/tensor.h"

#include <torch/torch.h>

#include "rlforge/core/torch_dtype.h"

namespace rlforge::buffers {

at::Tensor ToTensor(BatchField& field) {
  return torch::from_blob(field.data.data(), field.shape, ToTorch(field.dtype));
}

at::Tensor ToTensor(const FieldView& view) {
  return torch::from_blob(const_cast<uint8_t*>(view.data), view.shape, view.strides,
                          ToTorch(view.dtype));
}

std::map<std::string, at::Tensor> ToTensors(Batch& batch) {
  std::map<std::string, at::Tensor> out;
  for (auto& f : batch.fields) out.emplace(f.name, ToTensor(f));
  return out;
}

}  // namespace rlforge::buffers
