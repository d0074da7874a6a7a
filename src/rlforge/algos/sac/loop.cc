// SAC's run, as CleanRL's sac_continuous_action.py reads: uniform random actions for
// learning_starts steps, then policy samples; every step one critic update (and every
// policy_frequency steps that many actor and alpha updates) on a replay batch. The math is in
// sac.cc. As DQN's, updates wait for learning_starts transitions in the buffer.
#include "rlforge/algos/builtin.h"
#include "rlforge/algos/off_policy.h"
#include "rlforge/train/envs.h"

namespace rlforge::algos {
namespace {

class SacRun final : public train::Algorithm {
 public:
  explicit SacRun(const train::TrainConfig& config)
      : config_(config),
        envs_(
            train::MakeVectorEnv(config.env, config.sac.gamma, static_cast<uint64_t>(config.seed))),
        // the bounds before ClipAction: actions are rescaled from tanh to them
        agent_(config.sac, envs_->single_observation_space(),
               envs_->env(0).Unwrapped()->action_space(), static_cast<uint64_t>(config.seed)),
        step_(*envs_),
        replay_(step_.Spec(config.sac.buffer_size, config.sac.gamma),
                static_cast<uint64_t>(config.seed)),
        n_(config.env.num_envs),
        iterations_(std::max<int64_t>(1, config.total_timesteps / n_)) {}

  int64_t total_steps() const override { return iterations_ * n_; }

  void Iterate(train::Context& ctx) override {
    const SacConfig& c = config_.sac;
    step_.Observe();
    agent_.Collect(step_.obs.data(), n_, ctx.global_step, envs_->continuous_actions());
    envs_->Step();
    step_.Record(ctx);
    step_.AddTo(replay_);
    if (ctx.global_step <= c.learning_starts || replay_.size() < c.learning_starts) return;
    replay_.Sample(c.batch_size, &batch_);
    const auto losses = agent_.Update(batch_, ctx.iteration);
    if (ctx.iteration % 100 == 0) {
      for (const auto& [tag, value] : losses) ctx.Log(tag, value);
      ctx.Log("charts/SPS", ctx.sps());
    }
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes([&](const float* obs, int64_t n, int64_t*, float* a,
                                  bool det) { agent_.Act(obs, n, a, det); },
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
  Sac agent_;
  Transitions step_;
  buffers::ReplayBuffer replay_;
  buffers::Batch batch_;
  int n_;
  int64_t iterations_;
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeSac(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<SacRun>(config);
}

}  // namespace rlforge::algos
