// DQN's run, as CleanRL's dqn.py reads: epsilon-greedy steps into a replay buffer, a TD update
// every train_frequency steps once learning_starts transitions are in, the target network
// copied every target_network_frequency steps. The math is in dqn.cc. Updates wait until the
// buffer holds learning_starts transitions, which matters only for a run resumed without its
// saved buffer: it refills that many with its current policy before learning again.
#include "rlforge/algos/builtin.h"
#include "rlforge/algos/off_policy.h"
#include "rlforge/train/envs.h"

namespace rlforge::algos {
namespace {

class DqnRun final : public train::Algorithm {
 public:
  explicit DqnRun(const train::TrainConfig& config)
      : config_(config),
        envs_(
            train::MakeVectorEnv(config.env, config.dqn.gamma, static_cast<uint64_t>(config.seed))),
        agent_(config.dqn, envs_->single_observation_space(), envs_->single_action_space(),
               static_cast<uint64_t>(config.seed)),
        step_(*envs_),
        replay_(step_.Spec(config.dqn.buffer_size, config.dqn.gamma),
                static_cast<uint64_t>(config.seed)),
        n_(config.env.num_envs),
        iterations_(std::max<int64_t>(1, config.total_timesteps / n_)) {}

  int64_t total_steps() const override { return iterations_ * n_; }

  void Iterate(train::Context& ctx) override {
    const DqnConfig& q = config_.dqn;
    // epsilon: linear from start_e to end_e over exploration_fraction of the run
    const double explore_steps =
        q.exploration_fraction * static_cast<double>(config_.total_timesteps);
    const double slope = (q.end_e - q.start_e) / explore_steps;
    const double epsilon =
        std::max(slope * static_cast<double>(ctx.global_step) + q.start_e, q.end_e);
    step_.Observe();
    agent_.Explore(step_.obs.data(), n_, epsilon, envs_->discrete_actions());
    envs_->Step();
    step_.Record(ctx);
    step_.AddTo(replay_);
    if (ctx.global_step <= q.learning_starts || replay_.size() < q.learning_starts) return;
    if (ctx.iteration % q.train_frequency == 0) {
      replay_.Sample(q.batch_size, &batch_);
      const auto losses = agent_.Update(batch_);
      if (ctx.iteration % (100 * q.train_frequency) == 0) {
        for (const auto& [tag, value] : losses) ctx.Log(tag, value);
        ctx.Log("charts/SPS", ctx.sps());
        ctx.Log("charts/epsilon", epsilon);
      }
    }
    if (ctx.iteration % std::max<int64_t>(1, q.target_network_frequency / n_) == 0)
      agent_.UpdateTarget();
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes(
        [&](const float* obs, int64_t n, int64_t* d, float*, bool) { agent_.Act(obs, n, d); },
        config_.env, envs_.get(), req);
  }

  void Save(io::TensorDict& out) const override {
    agent_.Save(out);
    train::SaveEnvs(out, *envs_);
  }
  void Load(const io::TensorDict& in) override {
    agent_.Load(in);
    train::LoadEnvs(in, *envs_);
  }
  bool HasFiles() const override { return config_.checkpoint.save_replay_buffer; }
  void SaveFiles(const std::string& dir) const override { replay_.Save(dir + "/replay"); }
  void LoadFiles(const std::string& dir) override { replay_.LoadInto(dir + "/replay"); }
  io::TensorDict Parameters() const override {
    io::TensorDict d;
    nn::Put(d, agent_.parameters());
    return d;
  }

 private:
  const train::TrainConfig config_;  // a copy: the algorithm outlives its caller's
  std::unique_ptr<env::VectorEnv> envs_;
  Dqn agent_;
  Transitions step_;
  buffers::ReplayBuffer replay_;
  buffers::Batch batch_;
  int n_;
  int64_t iterations_;
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeDqn(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<DqnRun>(config);
}

}  // namespace rlforge::algos
