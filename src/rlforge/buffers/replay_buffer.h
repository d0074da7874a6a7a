// ReplayBuffer for off-policy learners (SAC, DQN): one ring per env on FlexibleBuffer storage
// (env i = agent i), uniform sampling with replacement, optional n-step returns.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "rlforge/buffers/flexible_buffer.h"

namespace rlforge::buffers {

struct ReplaySpec {
  int64_t capacity = 1'000'000;  // transitions over all envs
  int num_envs = 1;
  int64_t obs_dim = 0;
  int64_t num_discrete = 0;    // discrete action components
  int64_t num_continuous = 0;  // continuous action elements
  int n_step = 1;              // reward steps summed per sample
  float gamma = 0.99f;         // discount for n-step sums and bootstraps
};

class ReplayBuffer {
 public:
  explicit ReplayBuffer(const ReplaySpec& spec, uint64_t seed = 0);

  // One transition per env (rows in env order). next_obs must be the true next observation,
  // i.e. the final observation where an episode ended.
  void Add(std::span<const float> obs, std::span<const float> next_obs,
           std::span<const int64_t> discrete, std::span<const float> continuous,
           std::span<const float> rewards, std::span<const uint8_t> terminated,
           std::span<const uint8_t> truncated);

  // `batch` transitions drawn uniformly with replacement over every env's stored steps:
  // obs, next_obs (after n steps), discrete_actions, continuous_actions, rewards (n-step sums),
  // discounts (gamma^k, 0 after a terminal), each (B x ...).
  void Sample(int64_t batch, Batch* out);

  // Rewrites every stored reward, `chunk` transitions at a time: fn(obs (rows x obs_dim),
  // continuous actions (rows x num_continuous), rows, rewards out (rows)). PEBBLE relabels the
  // whole buffer with its learned reward this way.
  void Relabel(int64_t chunk, const std::function<void(const float* obs, const float* actions,
                                                       int64_t rows, float* rewards)>& fn);
  // Multiplies every stored reward by `factor`.
  void ScaleRewards(float factor);

  int64_t size() const { return storage_.size() * spec_.num_envs; }
  const ReplaySpec& spec() const { return spec_; }
  void Save(const std::string& dir) const { storage_.Save(dir); }
  void LoadInto(const std::string& dir) { storage_.LoadInto(dir); }

 private:
  void PrepareOutput(int64_t batch, Batch* out) const;

  ReplaySpec spec_;
  FlexibleBuffer storage_;  // agent axis = env
  int obs_, next_obs_, discrete_ = -1, continuous_ = -1, reward_, terminated_, truncated_;
};

}  // namespace rlforge::buffers
