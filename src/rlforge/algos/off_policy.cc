#include "rlforge/algos/off_policy.h"

#include <algorithm>
#include <cstring>

#include "rlforge/train/envs.h"

namespace rlforge::algos {

Transitions::Transitions(env::VectorEnv& envs, int first, int total)
    : envs_(envs),
      n_(envs.num_envs()),
      first_(first),
      total_(total),
      obs_dim_(envs.single_observation_space().size()),
      num_discrete_(envs.single_action_space().num_discrete()),
      num_continuous_(envs.single_action_space().num_continuous()) {
  obs.resize(static_cast<size_t>(n_ * obs_dim_));
  next_obs.resize(obs.size());
  rewards.resize(n_);
  term.resize(n_);
  trunc.resize(n_);
}

void Transitions::Observe() {
  std::memcpy(obs.data(), envs_.observations(), obs.size() * sizeof(float));
}

void Transitions::Record(train::Context& ctx) {
  ctx.global_step += total_;
  ++ctx.iteration;
  std::memcpy(next_obs.data(), envs_.observations(), next_obs.size() * sizeof(float));
  const auto* final_obs = static_cast<const float*>(envs_.final_observations());
  for (int i = 0; i < n_; ++i) {
    rewards[i] = static_cast<float>(envs_.rewards()[i]);
    term[i] = envs_.terminated()[i];
    trunc[i] = envs_.truncated()[i];
    if (envs_.has_final()[i]) {
      std::memcpy(next_obs.data() + i * obs_dim_, final_obs + i * obs_dim_,
                  static_cast<size_t>(obs_dim_) * sizeof(float));
      ended_.insert(ended_.end(),
                    {static_cast<double>(ctx.global_step), static_cast<double>(first_ + i),
                     envs_.final_returns()[i], static_cast<double>(envs_.final_lengths()[i])});
    }
  }
  train::ReportEpisodes(ctx, ended_);
}

void Transitions::AddTo(buffers::ReplayBuffer& replay) { AddTo(replay, rewards); }

void Transitions::AddTo(buffers::ReplayBuffer& replay, const std::vector<float>& r) {
  replay.Add(obs, next_obs, {envs_.discrete_actions(), static_cast<size_t>(n_ * num_discrete_)},
             {envs_.continuous_actions(), static_cast<size_t>(n_ * num_continuous_)}, r, term,
             trunc);
}

buffers::ReplaySpec Transitions::Spec(int64_t capacity, double gamma) const {
  buffers::ReplaySpec spec;
  spec.capacity = std::max<int64_t>(capacity, n_);
  spec.num_envs = n_;
  spec.obs_dim = obs_dim_;
  spec.num_discrete = num_discrete_;
  spec.num_continuous = num_continuous_;
  spec.gamma = static_cast<float>(gamma);
  return spec;
}

}  // namespace rlforge::algos
