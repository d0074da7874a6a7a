// What the trainer needs from any algorithm: acting, and its state for checkpoints.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace rlforge::algos {

class Agent {
 public:
  virtual ~Agent() = default;
  // Actions for a batch of observations (N x obs_dim): discrete (N x D) or continuous (N x C);
  // greedy / mean actions when deterministic.
  virtual void Act(const torch::Tensor& obs, int64_t* discrete, float* continuous,
                   bool deterministic) = 0;
  // Networks, optimizers and any algorithm RNG.
  virtual void Save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void Load(torch::serialize::InputArchive& archive) = 0;
  virtual std::vector<torch::Tensor> parameters() const = 0;
};

}  // namespace rlforge::algos
