#include "rlforge/buffers/tensor.h"

#include <torch/torch.h>

namespace rlforge::buffers {

at::Tensor ToTensor(BatchField& field) {
  torch::ScalarType type = torch::kFloat32;
  switch (field.dtype) {
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
  return torch::from_blob(field.data.data(), field.shape, type);
}

std::map<std::string, at::Tensor> ToTensors(Batch& batch) {
  std::map<std::string, at::Tensor> out;
  for (auto& f : batch.fields) out.emplace(f.name, ToTensor(f));
  return out;
}

}  // namespace rlforge::buffers
