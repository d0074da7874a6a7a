// RolloutBuffer for on-policy learners (PPO, A2C): T steps x N envs, then GAE advantages and
// returns with truncation bootstrapped from the value of the final observation.
#pragma once

#include <span>
#include <vector>

#include "rlforge/buffers/batch.h"

namespace rlforge::buffers {

class RolloutBuffer {
 public:
  RolloutBuffer(int64_t num_steps, int num_envs, int64_t obs_dim, int64_t num_discrete,
                int64_t num_continuous);

  // One step of every env. final_values[i] = V(final obs of env i) where truncated[i].
  void Add(std::span<const float> obs, std::span<const int64_t> discrete,
           std::span<const float> continuous, std::span<const float> log_probs,
           std::span<const float> values, std::span<const float> rewards,
           std::span<const uint8_t> terminated, std::span<const uint8_t> truncated,
           std::span<const float> final_values);
  // GAE(gamma, lambda) per env; last_values = V(observation after the last step)   (N)
  void ComputeReturnsAndAdvantages(std::span<const float> last_values, float gamma, float lambda);
  // Rows of the flattened (T*N) rollout: obs, discrete_actions, continuous_actions, log_probs,
  // values, advantages, returns.
  void Minibatch(std::span<const int64_t> rows, Batch* out) const;
  void Reset() { step_ = 0; }

  bool full() const { return step_ == num_steps_; }
  int64_t num_steps() const { return num_steps_; }
  int num_envs() const { return num_envs_; }
  const std::vector<float>& advantages() const { return advantages_; }
  const std::vector<float>& returns() const { return returns_; }
  const std::vector<float>& values() const { return values_; }

 private:
  int64_t num_steps_;
  int num_envs_;
  int64_t obs_dim_, num_discrete_, num_continuous_;
  int64_t step_ = 0;
  std::vector<float> obs_;           // observations              (T x N x obs_dim)
  std::vector<int64_t> discrete_;    // discrete actions          (T x N x D)
  std::vector<float> continuous_;    // continuous actions        (T x N x C)
  std::vector<float> log_probs_;     // log-prob of the action    (T x N)
  std::vector<float> values_;        // V(obs)                    (T x N)
  std::vector<float> rewards_;       // rewards                   (T x N)
  std::vector<uint8_t> terminated_;  // step ended in a terminal  (T x N)
  std::vector<uint8_t> truncated_;   // step hit a time limit     (T x N)
  std::vector<float> final_values_;  // V(final obs) if truncated (T x N)
  std::vector<float> advantages_;    // GAE advantages            (T x N)
  std::vector<float> returns_;       // advantages + values       (T x N)
};

}  // namespace rlforge::buffers
