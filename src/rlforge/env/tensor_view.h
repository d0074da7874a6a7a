// Tensor views over a VectorEnv's blocks (torch::from_blob: no copy; valid while the env lives).
#pragma once

#include "rlforge/core/spaces.h"
#include "rlforge/env/vector_env.h"

namespace at {
class Tensor;
}  // namespace at

namespace rlforge::env {

at::Tensor ObservationTensor(VectorEnv& envs);       // (N x obs_shape) of the obs dtype
at::Tensor FinalObservationTensor(VectorEnv& envs);  // (N x obs_shape)
at::Tensor RewardTensor(VectorEnv& envs);            // (N) float64
at::Tensor TerminatedTensor(VectorEnv& envs);        // (N) bool
at::Tensor TruncatedTensor(VectorEnv& envs);         // (N) bool
at::Tensor DiscreteActionTensor(VectorEnv& envs);    // (N x num_discrete) int64, writable
at::Tensor ContinuousActionTensor(VectorEnv& envs);  // (N x num_continuous) float32, writable

}  // namespace rlforge::env
