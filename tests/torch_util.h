// LibTorch views of the learners' named tensors, for the autograd reference tests (test-only:
// the library itself links no LibTorch).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "rlforge/nn/mlp.h"

namespace rlforge::testing {

// Copies, in order, with PyTorch's shapes.
inline std::vector<torch::Tensor> Torch(const nn::NamedTensors& tensors) {
  std::vector<torch::Tensor> out;
  for (const auto& t : tensors) out.push_back(torch::tensor(t.values).view(t.shape).clone());
  return out;
}

}  // namespace rlforge::testing
