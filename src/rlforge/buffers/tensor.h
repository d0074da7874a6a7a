// Buffer batches as tensors, zero-copy (torch::from_blob over the batch's memory: valid while
// the batch lives and until it is refilled).
#pragma once

#include <map>
#include <string>

#include "rlforge/buffers/batch.h"

namespace at {
class Tensor;
}  // namespace at

namespace rlforge::buffers {

at::Tensor ToTensor(BatchField& field);
at::Tensor ToTensor(const FieldView& view);  // strided, zero-copy
std::map<std::string, at::Tensor> ToTensors(Batch& batch);

}  // namespace rlforge::buffers
