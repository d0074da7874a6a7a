#include "rlforge/env/tensor_view.h"

#include <torch/torch.h>

#include "rlforge/core/torch_dtype.h"

namespace rlforge::env {
namespace {

at::Tensor ObsView(VectorEnv& envs, void* data) {
  const Space& space = envs.single_observation_space();
  std::vector<int64_t> shape = {envs.num_envs()};
  shape.insert(shape.end(), space.shape().begin(), space.shape().end());
  return torch::from_blob(data, shape, torch::TensorOptions().dtype(ToTorch(space.dtype())));
}

// uint8 flags viewed as bool (same size, values 0/1).
at::Tensor FlagView(VectorEnv& envs, const uint8_t* data) {
  return torch::from_blob(const_cast<uint8_t*>(data), {envs.num_envs()}, torch::kBool);
}

}  // namespace

at::Tensor ObservationTensor(VectorEnv& envs) { return ObsView(envs, envs.observations()); }
at::Tensor FinalObservationTensor(VectorEnv& envs) {
  return ObsView(envs, envs.final_observations());
}
at::Tensor RewardTensor(VectorEnv& envs) {
  return torch::from_blob(const_cast<double*>(envs.rewards()), {envs.num_envs()}, torch::kFloat64);
}
at::Tensor TerminatedTensor(VectorEnv& envs) { return FlagView(envs, envs.terminated()); }
at::Tensor TruncatedTensor(VectorEnv& envs) { return FlagView(envs, envs.truncated()); }
at::Tensor DiscreteActionTensor(VectorEnv& envs) {
  return torch::from_blob(envs.discrete_actions(),
                          {envs.num_envs(), envs.single_action_space().num_discrete()},
                          torch::kInt64);
}
at::Tensor ContinuousActionTensor(VectorEnv& envs) {
  return torch::from_blob(envs.continuous_actions(),
                          {envs.num_envs(), envs.single_action_space().num_continuous()},
                          torch::kFloat32);
}

}  // namespace rlforge::env
