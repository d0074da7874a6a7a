// DreamerV3's learner: the world model, the actor and critic trained in imagination, the slow
// critic, return normalization and the optimizer (LaProp + AGC in one, or the 2023 three Adams).
// One update (Train) reads like the official agent.py: world-model loss on a replayed batch,
// imagination from every posterior state with gradients stopped, actor and critic losses on the
// imagined trajectories, the replay value loss, one optimizer step over everything.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "rlforge/algos/dreamer/config.h"
#include "rlforge/algos/dreamer/math.h"
#include "rlforge/algos/dreamer/networks.h"
#include "rlforge/io/safetensors.h"

namespace rlforge::dreamer {

// A replayed batch of B sequences of T steps, on the model's device.
struct Sequences {
  torch::Tensor obs;          // vector observations (undefined: none)  (B x T x O)
  torch::Tensor prev_action;  // action that led to obs (0 at first)  (B x T x A)
  torch::Tensor reward;       // reward received on arriving at obs   (B x T)
  torch::Tensor is_first;     // first step of an episode, 0/1        (B x T)
  torch::Tensor is_last;      // last step (terminated or truncated)  (B x T)
  torch::Tensor is_terminal;  // terminated (not truncated)           (B x T)
  torch::Tensor image;        // image observations, uint8 (undefined: none)  (B x T x H x W x C)

  Sequences To(torch::Device device) const;  // every part on `device` (a CUDA copy is async)
};

// Every sample one imagination rollout of H steps from N states draws, in the rollout's order:
// the policy's noise per step and the latents' uniforms per step, on the model's device.
struct RolloutNoise {
  torch::Tensor action;  // U(0, 1) (discrete) or N(0, 1) (continuous)  (H x N) or (H x N x A)
  torch::Tensor latent;  // U(0, 1) for the prior's samples              (H x N x S)
};

// The policy's distribution over actions: categorical with unimix (discrete, one-hot samples) or
// the bounded normal N(tanh(mu), sigma), sigma = 0.9 sigmoid(x + 2) + 0.1 (continuous).
class Policy {
 public:
  Policy(const torch::Tensor& out, bool discrete, double unimix);
  // The noise one sample takes, drawn from `gen` on its device: U(0, 1) (N) or N(0, 1) (N x A).
  static torch::Tensor Noise(int64_t n, int64_t action_dim, bool discrete, at::Generator& gen);
  torch::Tensor Sample(const torch::Tensor& noise) const;  // (N x A), noise on the policy's device
  torch::Tensor Sample(at::Generator& gen) const;          // (N x A)
  torch::Tensor Mode() const;                              // (N x A)
  torch::Tensor LogProb(const torch::Tensor& a) const;     // (N)
  torch::Tensor Entropy() const;                           // (N)

 private:
  bool discrete_;
  torch::Tensor probs_;       // discrete: class probabilities   (N x A)
  torch::Tensor mean_, std_;  // continuous                     (N x A)
};

// An optimizer over named parameters: LaProp with adaptive gradient clipping and linear warmup
// (2024), or Adam after clipping the global gradient norm (2023). Reads the parameters' .grad().
class Optimizer {
 public:
  struct Options {
    bool laprop = true;
    double lr = 4e-5;
    double eps = 1e-20;
    double agc = 0.3;    // laprop: per-tensor clip ratio to the parameter norm (0 = off)
    double clip = 0.0;   // adam: global gradient norm limit (0 = off)
    int64_t warmup = 0;  // updates of linear learning-rate warmup
    double beta1 = 0.9, beta2 = 0.999;
  };
  Optimizer(std::vector<std::pair<std::string, torch::Tensor>> params, Options options);
  // One step; returns the global gradient norm before clipping and the RMS of the update and of
  // the parameters after it (grad_norm, update_rms, param_rms), and the same per network (the
  // parameters' first name part) as <net>/{grad_norm,param_rms,update_rms,update_ratio}.
  std::map<std::string, double> Step();
  void Save(io::TensorDict& out, const std::string& prefix) const;
  void Load(const io::TensorDict& in, const std::string& prefix);
  int64_t steps() const { return steps_; }

 private:
  // Step's metrics from the per-tensor sums of squares (one host copy).
  std::map<std::string, double> Health(const std::vector<torch::Tensor>& grad_sq,
                                       const std::vector<torch::Tensor>& update_sq,
                                       const std::vector<torch::Tensor>& param_sq) const;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  Options o_;
  std::vector<torch::Tensor> m_;  // first moments (LaProp: of the RMS-scaled gradient)
  std::vector<torch::Tensor> v_;  // second moments of the gradient
  int64_t steps_ = 0;
};

// A tensor (any device) as float32 `name` in a checkpoint, and back into `t` (shape checked).
void PutTensor(io::TensorDict& out, const std::string& name, const torch::Tensor& t);
void GetTensor(const io::TensorDict& in, const std::string& name, torch::Tensor& t);

// LibTorch's intra-op threads and OpenBLAS's own pool (the pthread build, whose idle threads
// otherwise spin in sched_yield beside the training thread), both set to n.
void SetComputeThreads(int n);

// Keeps memory LibTorch frees in the process (glibc: no mmap for large blocks, no trimming), so
// an update's activations reuse the last update's pages instead of faulting fresh zeroed ones in:
// at NaturalDreamer's CarRacing size that fault-in was 40% of an update (26.4 s -> 15.9 s).
void KeepFreedMemory();

class Agent {
 public:
  Agent(const algos::DreamerConfig& c, const ObsLayout& obs, int64_t action_dim, bool discrete,
        uint64_t seed);

  // What the policy carries between env steps, per env.
  struct Carry {
    torch::Tensor deter;   // GRU state          (N x D)
    torch::Tensor stoch;   // latent one-hots    (N x S x K)
    torch::Tensor action;  // previous action    (N x A)
  };
  Carry Initial(int64_t n) const;
  // Actions for observations (vectors N x O float, images N x H x W x C uint8, on the CPU; either
  // undefined when the model has none) through the posterior; is_first (N, 0/1) zeroes the carry
  // first. Discrete: one-hot rows; continuous: in [-1, 1]. Returns CPU (N x A). Samples come
  // from `gen` (training: generator(); evaluation: its own).
  torch::Tensor Act(const torch::Tensor& obs, const torch::Tensor& image,
                    const torch::Tensor& is_first, Carry& carry, bool sample, at::Generator& gen);

  // One update on replayed sequences (on the device); returns the metrics.
  std::map<std::string, double> Train(const Sequences& data);

  // The pieces of Train, for tests. Observe: posterior states (B x T x ...) and the world-model
  // loss; ImagineLoss: the actor and critic losses from start states (N x ...) without
  // gradients into the world model.
  struct Observed {
    torch::Tensor deter, stoch;                  // posterior states   (B x T x D), (B x T x S x K)
    torch::Tensor post, prior;                   // latent probs       (B x T x S x K)
    torch::Tensor loss;                          // the weighted world-model loss (scalar)
    std::map<std::string, torch::Tensor> parts;  // loss/dec, loss/rew, ... (scalars)
  };
  // `u`: the posterior samples' uniforms (B x T x S, on the device); undefined: drawn here.
  Observed Observe(const Sequences& data, torch::Tensor u = {});
  struct Imagined {
    torch::Tensor policy_loss, value_loss;       // scalars
    torch::Tensor returns;                       // lambda-returns     (N x H)
    std::map<std::string, torch::Tensor> stats;  // ret/mean, adv/std, ... (scalars, on the device)
  };
  // `noise`: the rollout's samples (DrawRolloutNoise(N)); undefined parts: drawn here.
  Imagined ImagineLoss(const torch::Tensor& deter, const torch::Tensor& stoch,
                       RolloutNoise noise = {});
  RolloutNoise DrawRolloutNoise(int64_t n);

  // Open-loop prediction: the posterior (its mode) over the first `context` steps, then the prior
  // (its mode) driven by the recorded actions; no random draws. The decoded predictions, on the
  // CPU: images (B x T x H x W x C, x / 255) and vectors (B x T x O), undefined when absent.
  struct Predicted {
    torch::Tensor image, vector;
  };
  Predicted OpenLoop(const Sequences& data, int64_t context);

  WorldModel& world_model() { return wm_; }
  Mlp& actor() { return actor_; }
  Mlp& critic() { return critic_; }
  const ReturnNorm& return_norm() const { return retnorm_; }
  at::Generator& generator() { return gen_; }
  torch::Device device() const { return device_; }
  int64_t updates() const { return optimizers_[0].steps(); }

  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);
  // Every module's parameters as "world_model.encoder.0.linear.weight", "actor.out.weight", ...
  io::TensorDict Parameters() const;
  // The gradients of the last Train, named as Parameters() (the slow critic has none).
  io::TensorDict Gradients() const;

 private:
  torch::Tensor Uniform(at::IntArrayRef shape);  // U(0, 1) from the run's generator, on device
  torch::Tensor ToDevice(const torch::Tensor& host) const;  // an async copy where it is CUDA
  void UpdateSlowCritic();

  algos::DreamerConfig c_;
  bool discrete_;
  int64_t action_dim_;  // model action width: classes (discrete) or dimensions
  torch::Device device_;
  // every sample the agent draws (CPU, so any device gives the same); an update draws its samples
  // before its first kernel, so that their copy to a GPU never waits for one
  at::Generator gen_;
  WorldModel wm_{nullptr};
  Mlp actor_{nullptr};        // features -> action logits or (mean, std) pre-activations
  Mlp critic_{nullptr};       // features -> 255 two-hot logits
  Mlp slow_critic_{nullptr};  // EMA of the critic (a regularizer target)
  TwoHot twohot_;
  ReturnNorm retnorm_;
  std::vector<Optimizer> optimizers_;  // laprop: one; adam: world model, actor, critic
};

}  // namespace rlforge::dreamer
