#include "rlforge/env/vector_env.h"

#include <cstring>
#include <utility>

#include "rlforge/core/error.h"

namespace rlforge::env {

VectorEnv::VectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads)
    : envs_(std::move(envs)) {
  if (envs_.empty()) throw Error("num_envs: expected at least 1");
  const Space& obs_space = envs_[0]->observation_space();
  const Space& act_space = envs_[0]->action_space();
  for (const auto& e : envs_) {
    if (!(e->observation_space() == obs_space) || !(e->action_space() == act_space)) {
      throw Error("VectorEnv: every env must have the same spaces");
    }
  }
  if (num_threads > 1) {
    pool_ = std::make_unique<ThreadPool>(std::min(num_threads, num_envs()));
    errors_.resize(static_cast<size_t>(num_envs()));
  }
  const auto n = static_cast<size_t>(num_envs());
  obs_bytes_ = obs_space.nbytes();
  num_discrete_ = act_space.num_discrete();
  num_continuous_ = act_space.num_continuous();
  obs_.assign(n * obs_bytes_, 0);
  final_obs_.assign(n * obs_bytes_, 0);
  rewards_.assign(n, 0.0);
  terminated_.assign(n, 0);
  truncated_.assign(n, 0);
  has_final_.assign(n, 0);
  episode_returns_.assign(n, 0.0);
  episode_lengths_.assign(n, 0);
  final_returns_.assign(n, 0.0);
  final_lengths_.assign(n, 0);
  discrete_actions_.assign(n * static_cast<size_t>(num_discrete_), 0);
  continuous_actions_.assign(n * static_cast<size_t>(num_continuous_), 0.0f);
  action_rngs_.resize(n);
}

Action VectorEnv::ActionOf(int i) const {
  return {std::span<const int64_t>(discrete_actions_.data() + i * num_discrete_,
                                   static_cast<size_t>(num_discrete_)),
          std::span<const float>(continuous_actions_.data() + i * num_continuous_,
                                 static_cast<size_t>(num_continuous_))};
}

void VectorEnv::Reset(uint64_t seed, int64_t first) {
  for (int i = 0; i < num_envs(); ++i) {
    const uint64_t g = static_cast<uint64_t>(first) + static_cast<uint64_t>(i);  // global index
    envs_[i]->Reset(seed + g, ObsRow(obs_, i));
    const uint32_t words[3] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                               static_cast<uint32_t>(g) ^ 0x61637473u /* "acts" */};
    action_rngs_[i] = Rng(SeedSequence(words));
  }
  std::fill(has_final_.begin(), has_final_.end(), 0);
  std::fill(episode_returns_.begin(), episode_returns_.end(), 0.0);
  std::fill(episode_lengths_.begin(), episode_lengths_.end(), 0);
}

void VectorEnv::SaveSnapshot(ByteWriter& out) const {
  out.Put<int32_t>(num_envs());
  for (const auto& e : envs_) e->SaveSnapshot(out);
  out.PutVector(obs_);
  out.PutVector(episode_returns_);
  out.PutVector(episode_lengths_);
  for (const auto& rng : action_rngs_) out.PutString(rng.Serialize());
}

void VectorEnv::LoadSnapshot(ByteReader& in) {
  if (in.Get<int32_t>() != num_envs())
    throw Error("vector env snapshot: it was saved with another num_envs");
  for (auto& e : envs_) e->LoadSnapshot(in);
  auto obs = in.GetVector<uint8_t>();
  auto returns = in.GetVector<double>();
  auto lengths = in.GetVector<int64_t>();
  if (obs.size() != obs_.size() || returns.size() != episode_returns_.size() ||
      lengths.size() != episode_lengths_.size()) {
    throw Error("vector env snapshot: block sizes do not match this env");
  }
  obs_ = std::move(obs);
  episode_returns_ = std::move(returns);
  episode_lengths_ = std::move(lengths);
  for (auto& rng : action_rngs_) rng.Deserialize(in.GetString());
}

void VectorEnv::StepRange(int begin, int end) {
  for (int i = begin; i < end; ++i) {
    void* obs = ObsRow(obs_, i);
    const StepResult r = envs_[i]->Step(ActionOf(i), obs);
    rewards_[i] = r.reward;
    terminated_[i] = r.terminated;
    truncated_[i] = r.truncated;
    episode_returns_[i] += r.reward;
    episode_lengths_[i] += 1;
    has_final_[i] = r.terminated || r.truncated;
    if (has_final_[i]) {
      std::memcpy(ObsRow(final_obs_, i), obs, obs_bytes_);
      // the true return when a RecordEpisodeStatistics sits under reward-changing wrappers
      final_returns_[i] = envs_[i]->info().Get("episode.r").value_or(episode_returns_[i]);
      final_lengths_[i] = episode_lengths_[i];
      episode_returns_[i] = 0.0;
      episode_lengths_[i] = 0;
      envs_[i]->Reset(std::nullopt, obs);
    }
  }
}

void VectorEnv::Step() {
  if (!pool_) {
    StepRange(0, num_envs());
    return;
  }
  // An exception in a worker is carried back to the caller.
  pool_->ParallelFor(num_envs(), [this](int begin, int end) {
    try {
      StepRange(begin, end);
    } catch (...) {
      errors_[static_cast<size_t>(begin)] = std::current_exception();
    }
  });
  for (auto& e : errors_) {
    if (e) {
      const std::exception_ptr error = std::exchange(e, nullptr);
      std::rethrow_exception(error);
    }
  }
}

void VectorEnv::SampleActions() {
  const Space& space = single_action_space();
  for (int i = 0; i < num_envs(); ++i) {
    space.Sample(action_rngs_[i],
                 std::span<int64_t>(discrete_actions_.data() + i * num_discrete_,
                                    static_cast<size_t>(num_discrete_)),
                 std::span<float>(continuous_actions_.data() + i * num_continuous_,
                                  static_cast<size_t>(num_continuous_)));
  }
}

}  // namespace rlforge::env
