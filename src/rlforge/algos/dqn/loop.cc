// DQN's run, as CleanRL's dqn.py reads: epsilon-greedy steps into a replay buffer, a TD update
// every train_frequency steps once learning_starts transitions are in, the target network
// updated every target_network_frequency steps. The math is in dqn.cc.
#include "rlforge/algos/builtin.h"
#include "rlforge/algos/run.h"

namespace rlforge::algos {
namespace {

class DqnRun final : public OffPolicyRun<Dqn> {
 public:
  explicit DqnRun(const train::TrainConfig& config)
      : OffPolicyRun(config, config.dqn.gamma, config.dqn.buffer_size, config.dqn.batch_size,
                     "dqn.batch_size") {
    agent_ = std::make_unique<Dqn>(config.dqn, envs_->single_observation_space(),
                                   envs_->single_action_space(), seed());
  }

  void Iterate(train::Context& ctx) override {
    const DqnConfig& q = config_.dqn;
    // epsilon: linear from start_e to end_e over exploration_fraction of the run
    const double explore = q.exploration_fraction * static_cast<double>(config_.total_timesteps);
    const double slope = (q.end_e - q.start_e) / explore;
    const double epsilon =
        std::max(slope * static_cast<double>(ctx.global_step) + q.start_e, q.end_e);
    step_.Observe();
    agent_->Explore(step_.obs.data(), n_, epsilon, envs_->discrete_actions(), ActingStreams());
    envs_->Step();
    step_.Record(ctx);
    step_.AddTo(replay_);
    if (!Learning(ctx, q.learning_starts)) return;
    if (ctx.iteration % q.train_frequency == 0) {
      replay_.Sample(rank_batch_, &batch_);
      const auto losses = agent_->Update(batch_);
      if (ctx.iteration % (100 * q.train_frequency) == 0) {
        for (const auto& [tag, value] : losses) ctx.Log(tag, value);
        for (const auto& [tag, value] : agent_->Health()) ctx.Log(tag, value);
        ctx.Log("charts/SPS", ctx.sps());
        ctx.Log("charts/epsilon", epsilon);
      }
    }
    if (ctx.iteration % std::max<int64_t>(1, q.target_network_frequency / E_) == 0)
      agent_->UpdateTarget();
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes(
        [&](const float* obs, int64_t n, int64_t* d, float*, bool) { agent_->Act(obs, n, d); },
        config_.env, envs_.get(), req, nullptr,
        [&](const float* obs, const int64_t* d, const float*) {
          return agent_->QValue(obs, d[0]);
        });
  }
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeDqn(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<DqnRun>(config);
}

}  // namespace rlforge::algos
