// What every single-agent algorithm's run holds and saves the same way: its config, its vector
// env and its learner (`Agent`: Save/Load into a TensorDict, parameters() by PyTorch names), and
// for the off-policy ones a replay buffer kept beside checkpoints when asked.
#pragma once

#include <memory>
#include <string>

#include "rlforge/algos/off_policy.h"
#include "rlforge/train/envs.h"

namespace rlforge::algos {

template <class Agent>
class AgentRun : public train::Algorithm {
 public:
  void Save(io::TensorDict& out) const override {
    agent_->Save(out);
    train::SaveEnvs(out, *envs_);
  }
  void Load(const io::TensorDict& in) override {
    agent_->Load(in);
    train::LoadEnvs(in, *envs_);
  }
  io::TensorDict Parameters() const override {
    io::TensorDict d;
    nn::Put(d, agent_->parameters());
    return d;
  }
  io::TensorDict Gradients() const override {
    io::TensorDict d;
    nn::Put(d, agent_->gradients());
    return d;
  }

 protected:
  // The envs, reset with the config's seed; the derived run makes agent_. With `split`, only
  // this rank's share of them (train::RankShare), seeded by their global index.
  AgentRun(const train::TrainConfig& config, double gamma, bool split = false)
      : AgentRun(config, gamma,
                 split ? train::RankShare(config.env)
                       : std::pair<train::EnvConfig, int>{config.env, 0}) {}
  uint64_t seed() const { return static_cast<uint64_t>(config_.seed); }

  const train::TrainConfig config_;  // a copy: the run outlives its caller's
  const int first_env_;              // the global index of envs_'s first env
  std::unique_ptr<env::VectorEnv> envs_;
  std::unique_ptr<Agent> agent_;

 private:
  AgentRun(const train::TrainConfig& config, double gamma,
           const std::pair<train::EnvConfig, int>& share)
      : config_(config),
        first_env_(share.second),
        envs_(train::MakeVectorEnv(share.first, gamma, static_cast<uint64_t>(config.seed),
                                   share.second)) {}
};

// One env step per iteration into a replay buffer, as CleanRL's off-policy scripts.
template <class Agent>
class OffPolicyRun : public AgentRun<Agent> {
 public:
  int64_t total_steps() const override { return iterations_ * n_; }
  bool HasFiles() const override { return this->config_.checkpoint.save_replay_buffer; }
  void SaveFiles(const std::string& dir) const override { replay_.Save(dir + "/replay"); }
  void LoadFiles(const std::string& dir) override { replay_.LoadInto(dir + "/replay"); }

 protected:
  OffPolicyRun(const train::TrainConfig& config, double gamma, int64_t buffer_size)
      : AgentRun<Agent>(config, gamma),
        step_(*this->envs_),
        replay_(step_.Spec(buffer_size, gamma), this->seed()),
        n_(config.env.num_envs),
        iterations_(std::max<int64_t>(1, config.total_timesteps / n_)) {}
  // Whether updates may start: past `learning_starts` steps with that many transitions stored
  // (a run resumed without its buffer refills it first).
  bool Learning(const train::Context& ctx, int64_t learning_starts) const {
    return ctx.global_step > learning_starts && replay_.size() >= learning_starts;
  }

  Transitions step_;              // this step's transitions
  buffers::ReplayBuffer replay_;  // every env's transitions
  buffers::Batch batch_;          // a sampled minibatch, reused
  int n_;                         // envs
  int64_t iterations_;            // vector steps in the run
};

}  // namespace rlforge::algos
