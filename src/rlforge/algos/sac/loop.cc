// SAC's run, as CleanRL's sac_continuous_action.py reads: uniform random actions for
// learning_starts steps, then policy samples; every step one critic update (and every
// policy_frequency steps that many actor and alpha updates) on a replay batch. The math is in
// sac.cc.
#include "rlforge/algos/builtin.h"
#include "rlforge/algos/run.h"

namespace rlforge::algos {
namespace {

class SacRun final : public OffPolicyRun<Sac> {
 public:
  explicit SacRun(const train::TrainConfig& config)
      : OffPolicyRun(config, config.sac.gamma, config.sac.buffer_size, config.sac.batch_size,
                     "sac.batch_size") {
    // the bounds before ClipAction: actions are rescaled from tanh to them
    agent_ = std::make_unique<Sac>(config.sac, envs_->single_observation_space(),
                                   envs_->env(0).Unwrapped()->action_space(), seed());
  }

  void Iterate(train::Context& ctx) override {
    const SacConfig& c = config_.sac;
    step_.Observe();
    agent_->Collect(step_.obs.data(), n_, ctx.global_step, envs_->continuous_actions(),
                    ActingStreams());
    envs_->Step();
    step_.Record(ctx);
    step_.AddTo(replay_);
    if (!Learning(ctx, c.learning_starts)) return;
    replay_.Sample(rank_batch_, &batch_);
    const auto losses = agent_->Update(batch_, ctx.iteration);
    if (ctx.iteration % 100 == 0) {
      for (const auto& [tag, value] : losses) ctx.Log(tag, value);
      for (const auto& [tag, value] : agent_->Health()) ctx.Log(tag, value);
      ctx.Log("charts/SPS", ctx.sps());
    }
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes(
        [&](const float* obs, int64_t n, int64_t*, float* a, bool det) {
          agent_->Act(obs, n, a, det);
        },
        config_.env, envs_.get(), req, nullptr,
        [&](const float* obs, const int64_t*, const float* a) { return agent_->QValue(obs, a); });
  }
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeSac(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<SacRun>(config);
}

}  // namespace rlforge::algos
