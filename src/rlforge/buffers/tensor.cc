#include "rlforge/buffers/tensor.h"

#include <torch/torch.h>

namespace rlforge::buffers {

namespace {

torch::ScalarType TorchType(DType dtype) {
  torch::ScalarType type = torch::kFloat32;
  switch (dtype) {
    case DType::kFloat32:
      type = torch::kFloat32;
      break;
    case DType::kFloat64:
      type = torch::kFloat64;
      break;
    case DType::kInt64:
      type = torch::kInt64;
      break;
    case DType::kInt32:
      type = torch::kInt32;
      break;
    case DType::kUInt8:
      type = torch::kUInt8;
      break;
    case DType::kBool:
      type = torch::kBool;
      break;
  }
  return type;
}

}  // namespace

at::Tensor ToTensor(BatchField& field) {
  return torch::from_blob(field.data.data(), field.shape, TorchType(field.dtype));
}

at::Tensor ToTensor(const FieldView& view) {
  return torch::from_blob(const_cast<uint8_t*>(view.data), view.shape, view.strides,
                          TorchType(view.dtype));
}

std::map<std::string, at::Tensor> ToTensors(Batch& batch) {
  std::map<std::string, at::Tensor> out;
  for (auto& f : batch.fields) out.emplace(f.name, ToTensor(f));
  return out;
}

}  // namespace rlforge::buffers
