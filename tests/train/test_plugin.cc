// A plugin for the plugin test: registers "uniform_random", an algorithm that acts uniformly at
// random and learns nothing, the smallest train::Algorithm there is.
#include "rlforge/algos/registry.h"
#include "rlforge/nn/mlp.h"
#include "rlforge/train/envs.h"

namespace {

using namespace rlforge;

class UniformRandom final : public train::Algorithm {
 public:
  explicit UniformRandom(const train::TrainConfig& config)
      : config_(config),
        envs_(train::MakeVectorEnv(config.env, 0.99, static_cast<uint64_t>(config.seed))),
        rng_(nn::StreamRng(static_cast<uint64_t>(config.seed), 7)) {}

  int64_t total_steps() const override { return config_.total_timesteps; }
  void Iterate(train::Context& ctx) override {
    const Space& space = envs_->single_action_space();
    for (int i = 0; i < envs_->num_envs(); ++i) Act(i, space);
    envs_->Step();
    ctx.global_step += envs_->num_envs();
    ++ctx.iteration;
    for (int i = 0; i < envs_->num_envs(); ++i) {
      if (envs_->has_final()[i])
        ctx.EndEpisode(envs_->final_returns()[i], envs_->final_lengths()[i]);
    }
  }
  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    return train::RunEpisodes(
        [&](const float*, int64_t, int64_t* d, float* c, bool) {
          envs_->single_action_space().Sample(
              rng_, {d, static_cast<size_t>(envs_->single_action_space().num_discrete())},
              {c, static_cast<size_t>(envs_->single_action_space().num_continuous())});
        },
        config_.env, envs_.get(), req);
  }
  void Save(io::TensorDict& out) const override {
    nn::PutRng(out, "rng.uniform_random", rng_);
    train::SaveEnvs(out, *envs_);
  }
  void Load(const io::TensorDict& in) override {
    nn::GetRng(in, "rng.uniform_random", rng_);
    train::LoadEnvs(in, *envs_);
  }
  io::TensorDict Parameters() const override {
    io::TensorDict d;
    nn::PutRng(d, "rng.uniform_random", rng_);  // its only state
    return d;
  }

 private:
  void Act(int i, const Space& space) {
    const auto D = space.num_discrete(), C = space.num_continuous();
    space.Sample(rng_, {envs_->discrete_actions() + i * D, static_cast<size_t>(D)},
                 {envs_->continuous_actions() + i * C, static_cast<size_t>(C)});
  }
  const train::TrainConfig config_;
  std::unique_ptr<env::VectorEnv> envs_;
  Rng rng_;
};

}  // namespace

extern "C" void rlforge_register() {
  rlforge::algos::Register(
      {"uniform_random", "uniform random actions (the plugin test's)", "test_plugin", nullptr,
       nullptr, [](const rlforge::train::TrainConfig&) { return 0.99; },
       [](const rlforge::train::TrainConfig& c, const std::string&) {
         return std::unique_ptr<rlforge::train::Algorithm>(std::make_unique<UniformRandom>(c));
       }});
}
