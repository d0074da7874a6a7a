#include "rlforge/env/tensor_view.h"

#include <torch/torch.h>

namespace rlforge::env {
namespace {

torch::ScalarType TorchType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return torch::kFloat32;
    case DType::kFloat64:
      return torch::kFloat64;
    case DType::kInt64:
      return torch::kInt64;
    case DType::kInt32:
      return torch::kInt32;
    case DType::kUInt8:
      return torch::kUInt8;
    case DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat32;
}

at::Tensor ObsView(VectorEnv& envs, void* data) {
  const Space& space = envs.single_observation_space();
  std::vector<int64_t> shape = {envs.num_envs()};
  shape.insert(shape.end(), space.shape().begin(), space.shape().end());
  return torch::from_blob(data, shape, torch::TensorOptions().dtype(TorchType(space.dtype())));
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
