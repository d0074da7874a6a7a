// What every single-agent algorithm's run holds and saves the same way: its config, its vector
// env and its learner (`Agent`: Save/Load into a TensorDict, parameters() by PyTorch names), and
// for the off-policy ones a replay buffer kept beside checkpoints when asked.
#pragma once

#include <memory>
#include <string>

#include "rlforge/algos/off_policy.h"
#include "rlforge/core/error.h"
#include "rlforge/dist/comm.h"
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

// One env step per iteration into a replay buffer, as CleanRL's off-policy scripts. Under
// mpirun each rank steps its share of the envs into a replay shard of its own and samples
// batch_size / ranks rows of it per update (the gradients are averaged across ranks, so an
// update sees batch_size rows as in one process).
template <class Agent>
class OffPolicyRun : public AgentRun<Agent> {
 public:
  int64_t total_steps() const override { return iterations_ * E_; }
  bool HasFiles() const override { return this->config_.checkpoint.save_replay_buffer; }
  void SaveFiles(const std::string& dir) const override { replay_.Save(dir + "/replay"); }
  void LoadFiles(const std::string& dir) override { replay_.LoadInto(dir + "/replay"); }

 protected:
  OffPolicyRun(const train::TrainConfig& config, double gamma, int64_t buffer_size,
               int64_t batch_size, const std::string& batch_key)
      : AgentRun<Agent>(config, gamma, /*split=*/true),
        step_(*this->envs_, this->first_env_, config.env.num_envs),
        replay_(step_.Spec(buffer_size, gamma), RankSeed(this->seed())),
        n_(this->envs_->num_envs()),
        E_(config.env.num_envs),
        rank_batch_(RankBatch(batch_size, batch_key)),
        iterations_(std::max<int64_t>(1, config.total_timesteps / E_)) {}
  // Whether updates may start: past `learning_starts` steps with that many transitions stored
  // across the ranks (a run resumed without its buffer refills it first).
  bool Learning(const train::Context& ctx, int64_t learning_starts) const {
    return ctx.global_step > learning_starts && replay_.size() * dist::Size() >= learning_starts;
  }
  // Per-env action streams when ranks split the envs (each env explores on its own), none in one
  // process (the learner's generator, as before).
  std::span<Rng> ActingStreams() {
    return dist::Distributed() ? this->envs_->action_rngs() : std::span<Rng>{};
  }

  Transitions step_;              // this step's transitions
  buffers::ReplayBuffer replay_;  // this process's envs' transitions
  buffers::Batch batch_;          // a sampled minibatch, reused
  int n_;                         // this process's envs
  int E_;                         // the job's envs
  int64_t rank_batch_;            // rows this process samples per update
  int64_t iterations_;            // vector steps in the run

 private:
  // Rank 0 samples its shard as one process does; the others from generators of their own.
  static uint64_t RankSeed(uint64_t seed) {
    return seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(dist::Rank());
  }
  static int64_t RankBatch(int64_t batch_size, const std::string& key) {
    if (batch_size % dist::Size() != 0) {
      throw Error(key + ": " + std::to_string(batch_size) + " rows cannot be split evenly " +
                  "across " + std::to_string(dist::Size()) + " ranks; use a multiple of " +
                  std::to_string(dist::Size()));
    }
    return batch_size / dist::Size();
  }
};

}  // namespace rlforge::algos
