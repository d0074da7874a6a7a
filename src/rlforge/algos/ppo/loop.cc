// PPO's (and A2C's) run, as CleanRL's ppo.py reads: collect num_steps from every env, bootstrap
// time-limit cuts, GAE, then epochs of minibatch updates. The math is in ppo.cc.
#include <algorithm>
#include <cstring>

#include "rlforge/algos/builtin.h"
#include "rlforge/algos/run.h"
#include "rlforge/buffers/rollout_buffer.h"
#include "rlforge/dist/comm.h"

namespace rlforge::algos {
namespace {

class PpoRun final : public AgentRun<Ppo> {
 public:
  explicit PpoRun(const train::TrainConfig& config)
      : AgentRun(config, config.ppo.gamma, /*split=*/true),
        n_(envs_->num_envs()),
        E_(config.env.num_envs),
        T_(config.ppo.num_steps),
        obs_dim_(envs_->single_observation_space().size()),
        num_discrete_(envs_->single_action_space().num_discrete()),
        num_continuous_(envs_->single_action_space().num_continuous()),
        rollout_(T_, n_, obs_dim_, num_discrete_, num_continuous_),
        iterations_(std::max<int64_t>(1, config.total_timesteps / (int64_t{E_} * T_))),
        obs_(static_cast<size_t>(n_ * obs_dim_)),
        log_probs_(n_),
        values_(n_),
        rewards_(n_),
        final_values_(n_),
        last_values_(n_),
        term_(n_),
        trunc_(n_) {
    agent_ = std::make_unique<Ppo>(config.ppo, envs_->single_observation_space(),
                                   envs_->single_action_space(), seed());
  }

  int64_t total_steps() const override { return iterations_ * E_ * T_; }

  void Iterate(train::Context& ctx) override {
    const PpoConfig& c = config_.ppo;
    const double frac = 1.0 - static_cast<double>(ctx.iteration) / static_cast<double>(iterations_);
    const double lr = c.anneal_lr ? frac * c.learning_rate : c.learning_rate;
    rollout_.Reset();
    for (int t = 0; t < T_; ++t) CollectStep(ctx);
    train::ReportEpisodes(ctx, ended_);
    agent_->Value(Observations(), n_, last_values_.data());
    rollout_.ComputeReturnsAndAdvantages(last_values_, static_cast<float>(c.gamma),
                                         static_cast<float>(c.gae_lambda));
    const double waited = dist::seconds_in_collectives();
    for (const auto& [tag, value] : agent_->Update(rollout_, lr, {first_env_, n_, E_}))
      ctx.Log(tag, value);
    if (dist::Distributed())  // the update's time in gradient and statistics exchanges
      ctx.Log("charts/comm_seconds", dist::seconds_in_collectives() - waited);
    ++ctx.iteration;
    ctx.Log("charts/SPS", ctx.sps());
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    Rng rng(req.seed ^ 0x6576616cu /* "eval" */);  // sampled actions: not the training streams
    return train::RunEpisodes(
        [&](const float* obs, int64_t n, int64_t* d, float* a, bool det) {
          agent_->Act(obs, n, d, a, nullptr, nullptr, det, nullptr, {&rng, 1});
        },
        config_.env, envs_.get(), req, nullptr,
        [&](const float* obs, const int64_t*, const float*) {
          float v = 0.0f;
          agent_->Value(obs, 1, &v);
          return static_cast<double>(v);
        });
  }

 private:
  const float* Observations() { return static_cast<const float*>(envs_->observations()); }

  // one step of every env into the rollout; truncated episodes bootstrap from V(final obs); each
  // env samples its actions from its own stream, so the data does not depend on which process
  // steps it
  void CollectStep(train::Context& ctx) {
    std::memcpy(obs_.data(), Observations(), obs_.size() * sizeof(float));
    agent_->Act(obs_.data(), n_, envs_->discrete_actions(), envs_->continuous_actions(),
                log_probs_.data(), values_.data(), false, nullptr, envs_->action_rngs());
    envs_->Step();
    ctx.global_step += E_;
    std::fill(final_values_.begin(), final_values_.end(), 0.0f);
    bool any_truncated = false;
    for (int i = 0; i < n_; ++i) {
      rewards_[i] = static_cast<float>(envs_->rewards()[i]);
      term_[i] = envs_->terminated()[i];
      trunc_[i] = envs_->truncated()[i] && !envs_->terminated()[i];
      any_truncated = any_truncated || trunc_[i];
      if (envs_->has_final()[i]) {
        ended_.insert(ended_.end(),
                      {static_cast<double>(ctx.global_step), static_cast<double>(first_env_ + i),
                       envs_->final_returns()[i], static_cast<double>(envs_->final_lengths()[i])});
      }
    }
    if (any_truncated) {
      agent_->Value(static_cast<const float*>(envs_->final_observations()), n_,
                    final_values_.data());
      for (int i = 0; i < n_; ++i) {
        if (!trunc_[i]) final_values_[i] = 0.0f;
      }
    }
    rollout_.Add(obs_, {envs_->discrete_actions(), static_cast<size_t>(n_ * num_discrete_)},
                 {envs_->continuous_actions(), static_cast<size_t>(n_ * num_continuous_)},
                 log_probs_, values_, rewards_, term_, trunc_, final_values_);
  }

  int n_, E_, T_;  // this rank's envs, every rank's, steps per rollout
  int64_t obs_dim_, num_discrete_, num_continuous_;
  buffers::RolloutBuffer rollout_;
  int64_t iterations_;
  std::vector<float> obs_;                           // observations acted on     (N x obs_dim)
  std::vector<float> log_probs_, values_, rewards_;  // of this step             (N)
  std::vector<float> final_values_, last_values_;    // V(final obs), V(next obs) (N)
  std::vector<uint8_t> term_, trunc_;                // episode ends              (N)
  std::vector<double> ended_;  // this rollout's ended episodes: step, global env, return, length
};

}  // namespace

std::unique_ptr<train::Algorithm> MakePpo(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<PpoRun>(config);
}

}  // namespace rlforge::algos
