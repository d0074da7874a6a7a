// SAC (Haarnoja et al. 2018) as CleanRL's sac_continuous_action.py: tanh-squashed Gaussian actor
// with bounded log std, twin Q networks with Polyak-averaged targets, delayed policy updates
// (policy_frequency updates at a time), automatic entropy tuning with target entropy -|A|.
#pragma once

#include <map>
#include <string>

#include "rlforge/algos/agent.h"
#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"

namespace rlforge::algos {

struct SacConfig {
  int64_t buffer_size = 1'000'000;  // replay capacity (CleanRL: 1e6)
  double gamma = 0.99;              // discount (CleanRL: 0.99)
  double tau = 0.005;               // target smoothing (CleanRL: 0.005)
  int batch_size = 256;             // replay batch (CleanRL: 256)
  int64_t learning_starts = 5000;   // env steps of uniform random actions first (CleanRL: 5e3)
  double policy_lr = 3e-4;          // actor and alpha step size (CleanRL: 3e-4)
  double q_lr = 1e-3;               // critic step size (CleanRL: 1e-3)
  int policy_frequency = 2;  // policy updated every this many steps, that many times (CleanRL: 2)
  int target_network_frequency = 1;          // target update period in steps (CleanRL: 1)
  double alpha = 0.2;                        // entropy coefficient when not tuned (CleanRL: 0.2)
  bool autotune = true;                      // learn alpha toward entropy -|A| (CleanRL: true)
  std::vector<int64_t> hidden = {256, 256};  // actor and critic hidden sizes (CleanRL: [256, 256])

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("buffer_size", buffer_size, "replay capacity (CleanRL: 1e6)", Range::Closed(1, 1e9));
    v("gamma", gamma, "discount (CleanRL: 0.99)", Range::Closed(0, 1));
    v("tau", tau, "target network smoothing (CleanRL: 0.005)", Range::OpenClosed(0, 1));
    v("batch_size", batch_size, "replay batch size (CleanRL: 256)", Range::Closed(1, 1e6));
    v("learning_starts", learning_starts,
      "env steps of random actions before learning (CleanRL: 5000)", Range::NonNegative());
    v("policy_lr", policy_lr, "actor (and alpha) learning rate (CleanRL: 3e-4)", Range::Positive());
    v("q_lr", q_lr, "critic learning rate (CleanRL: 1e-3)", Range::Positive());
    v("policy_frequency", policy_frequency, "delayed policy updates: period and count (CleanRL: 2)",
      Range::Closed(1, 1000));
    v("target_network_frequency", target_network_frequency,
      "target update period in steps (CleanRL: 1)", Range::Closed(1, 1e6));
    v("alpha", alpha, "entropy coefficient when autotune is off (CleanRL: 0.2)",
      Range::NonNegative());
    v("autotune", autotune, "tune alpha toward target entropy -|A| (CleanRL: true)");
    v("hidden", hidden, "actor and critic hidden sizes (CleanRL: [256, 256])");
  }
};

class Sac final : public Agent {
 public:
  Sac(const SacConfig& config, const Space& observation_space, const Space& action_space,
      uint64_t seed);

  void Act(const torch::Tensor& obs, int64_t* discrete, float* continuous,
           bool deterministic) override;
  // Collection: uniform random actions before learning_starts, then samples from the policy.
  void Collect(const torch::Tensor& obs, int64_t global_step, float* continuous);
  // Uniform random actions for n envs (N x |A|).
  void SampleRandom(int64_t n, float* continuous);
  // A freshly initialized critic and target critic with a new optimizer; the actor and alpha
  // stay (PEBBLE leaving pre-training, BPref reset_critic).
  void ResetCritic();
  int batch_size() const { return config_.batch_size; }
  // One critic step, and every policy_frequency steps that many actor (and alpha) steps.
  std::map<std::string, double> Update(buffers::Batch& batch, int64_t global_step);

  void Save(torch::serialize::OutputArchive& archive) const override;
  void Load(torch::serialize::InputArchive& archive) override;
  std::vector<torch::Tensor> parameters() const override;

 private:
  // squashed sample, its log-prob and the squashed mean, for a batch of observations
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> Policy(const torch::Tensor& obs);
  torch::Tensor Q(torch::nn::Sequential& net, const torch::Tensor& obs,
                  const torch::Tensor& action);

  SacConfig config_;
  Space action_space_;
  int64_t act_dim_;
  torch::nn::Sequential actor_;                         // obs -> hidden (trunk of mean and log std)
  torch::nn::Linear mean_{nullptr}, log_std_{nullptr};  // policy heads   (hidden -> |A|)
  torch::nn::Sequential q1_, q2_, q1_target_, q2_target_;  // [obs, action] -> Q
  torch::Tensor action_scale_, action_bias_;  // (high - low) / 2, (high + low) / 2   (1 x |A|)
  torch::Tensor log_alpha_;                   // learned entropy coefficient (log)   (1)
  double alpha_;
  double target_entropy_;
  std::unique_ptr<torch::optim::Adam> actor_opt_, q_opt_, alpha_opt_;
  Rng rng_;  // random actions before learning_starts
};

}  // namespace rlforge::algos
