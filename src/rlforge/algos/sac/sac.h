// SAC (Haarnoja et al. 2018) as CleanRL's sac_continuous_action.py: tanh-squashed Gaussian actor
// with bounded log std, twin Q networks with Polyak-averaged targets, delayed policy updates
// (policy_frequency updates at a time), automatic entropy tuning with target entropy -|A|.
#pragma once

#include <map>
#include <span>
#include <string>

#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"
#include "rlforge/nn/lanes.h"
#include "rlforge/nn/mlp.h"

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

// The networks are nn::DenseMlp on flat parameter blocks (actor; q1 and q2 together; their
// Polyak target), with the gradients written out by hand (tested against LibTorch autograd).
// Checkpoints name them as torch.nn.Sequential pieces: `actor.{0,2}` (trunk), `actor_mean`,
// `actor_logstd` (heads), `qf1.{0,2,4}`, `qf2.*`, their `qf1_target.*`, `qf2_target.*`,
// `log_alpha`.
class Sac {
 public:
  Sac(const SacConfig& config, const Space& observation_space, const Space& action_space,
      uint64_t seed);

  // Squashed policy samples (or the mean's) for n observations (n x obs_dim) -> (n x |A|); the
  // noise of row i comes from streams[i] if given, else from the learner's generator.
  void Act(const float* obs, int64_t n, float* continuous, bool deterministic,
           std::span<Rng> streams = {});
  // min(Q1, Q2)(obs, action) of one observation and action (what the video overlay shows).
  double QValue(const float* obs, const float* action);
  // Collection: uniform random actions before learning_starts, then samples from the policy
  // (draws from `streams`, one per env, if given).
  void Collect(const float* obs, int64_t n, int64_t global_step, float* continuous,
               std::span<Rng> streams = {});
  // Uniform random actions for n envs (N x |A|).
  void SampleRandom(int64_t n, float* continuous, std::span<Rng> streams = {});
  // A freshly initialized critic and target critic with a new optimizer; the actor and alpha
  // stay (PEBBLE leaving pre-training, BPref reset_critic).
  void ResetCritic();
  int batch_size() const { return config_.batch_size; }
  // One critic step, and every policy_frequency steps that many actor (and alpha) steps.
  std::map<std::string, double> Update(buffers::Batch& batch, int64_t global_step);
  // opt/{actor,qf1,qf2}/...: each network's last step (nn::OptimizerHealth), when it is logged.
  std::map<std::string, double> Health() const;

  // The loss gradients of one step, without stepping (Update's parts; tests compare them with
  // autograd). Critic: mean squared TD error of q1 and q2 against the target. Actor:
  // mean(alpha log pi - min Q). Both sample from the policy; noise() is the last sample's.
  std::map<std::string, double> CriticGradient(buffers::Batch& batch);
  double ActorGradient(const float* obs, int64_t n);
  const std::vector<float>& noise() const { return noise_; }
  // Actor (trunk layers, mean head, log std head), q1, q2 gradients in parameters()' layout.
  nn::NamedTensors gradients() const;

  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);
  // Actor trunk layers, mean head, log std head, q1, q2 (weight, bias each), log alpha.
  nn::NamedTensors parameters() const;

 private:
  // What one thread works with: its share of the batch rows, with its own activations.
  struct Lane {
    nn::DenseMlp actor, q1, q2;      // the nets, with this lane's activations
    std::vector<float> actor_grads;  // d actor loss / d actor params   (Pa)
    std::vector<float> q_grads;      // d critic loss / d q params      (Pq)
    std::vector<float> x;            // [obs, action] per row           (rows x obs+|A|)
    std::vector<float> pi, log_pi;   // policy sample, its log-prob     (rows x |A|), (rows)
    std::vector<float> target;       // r + discount (min Q' - a logp') (rows)
    std::vector<float> std, y, t;    // std, tanh(x), tanh(raw log std) (rows x |A|)
    std::vector<float> dq1, dq2;     // d loss / d Q output             (rows x 8)
    std::vector<float> dx1, dx2;     // d loss / d Q input              (rows x pad)
    std::vector<float> d_out;        // d loss / d actor output         (rows x pad)
    double sums[4] = {};             // its share of: q1 loss, q2 loss, mean q1, mean(logp + H)
  };

  nn::NamedTensors AsTensors(const std::vector<float>& actor, const std::vector<float>& q) const;
  // noise_ = n x |A| standard normal draws (zeros when deterministic), in row order; row i's
  // from streams[i] if given
  void DrawNoise(int64_t n, bool deterministic, std::span<Rng> streams = {});
  // Sums every lane's `grads` and first n_sums sums into lanes_[0]'s, in lane order (so a given
  // thread count is deterministic); returns lanes_[0].
  const Lane& SumLanes(std::vector<float> Lane::*grads, int n_sums);
  // One Adam step of params by lanes_[0]'s grads, split between the lanes.
  void Step(nn::FlatAdam& adam, std::vector<float>& params, std::vector<float> Lane::*grads,
            double lr);
  // a = tanh(mean + std eps) * scale + bias for rows [begin, end) of noise_, given the lane's
  // actor output `out` for those rows, and log pi(a) with the tanh correction.
  void Sample(Lane& lane, const float* out, int64_t begin, int64_t end);
  // lane.x = [obs, action] for its rows
  void QInput(Lane& lane, const float* obs, const float* actions, int64_t rows);
  void CriticRows(Lane& lane, buffers::Batch& batch, int64_t begin, int64_t end);
  void ActorRows(Lane& lane, const float* obs, int64_t begin, int64_t end);

  SacConfig config_;
  Space action_space_;
  int64_t obs_dim_, act_dim_;
  std::vector<float> actor_params_;   // actor: obs -> [mean, pre-squash log std]  (Pa)
  std::vector<float> q_params_;       // q1 then q2: [obs, action] -> Q            (Pq)
  std::vector<float> q_target_;       // Polyak average of q_params_               (Pq)
  nn::FlatAdam actor_adam_, q_adam_;  // their optimizers
  std::vector<float> log_alpha_;      // learned entropy coefficient, log          (1)
  nn::FlatAdam alpha_adam_;           // its optimizer
  std::vector<float> scale_, bias_;   // (high - low) / 2, (high + low) / 2        (|A|)
  double alpha_;
  double target_entropy_;
  Rng rng_;                   // random actions before learning_starts
  Rng net_rng_;               // initial weights and policy noise
  std::vector<float> noise_;  // eps of the last policy sample             (B x |A|)
  nn::Lanes<Lane> lanes_;     // one per training thread; lanes_[0] sums the gradients
};

}  // namespace rlforge::algos
