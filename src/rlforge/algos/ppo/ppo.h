// PPO (Schulman et al. 2017) as CleanRL's ppo.py / ppo_continuous_action.py, plus A2C as the
// special case of one epoch, one minibatch, no clipping (see A2cDefaults).
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "rlforge/buffers/rollout_buffer.h"
#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/core/thread_pool.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {

struct PpoConfig {
  double learning_rate = 2.5e-4;  // Adam step size (CleanRL ppo.py: 2.5e-4)
  int num_steps = 128;            // steps per env per rollout (CleanRL: 128)
  bool anneal_lr = true;          // linearly anneal the learning rate to 0 (CleanRL: true)
  double gamma = 0.99;            // discount (CleanRL: 0.99)
  double gae_lambda = 0.95;       // GAE lambda (CleanRL: 0.95)
  int num_minibatches = 4;        // minibatches per epoch (CleanRL: 4)
  int update_epochs = 4;          // epochs per rollout (CleanRL: 4)
  bool norm_adv = true;           // normalize advantages per minibatch (CleanRL: true)
  double clip_coef = 0.2;         // surrogate clipping (CleanRL: 0.2)
  bool clip_vloss = true;         // clip the value loss too (CleanRL: true)
  double ent_coef = 0.01;         // entropy bonus (CleanRL: 0.01; continuous: 0.0)
  double vf_coef = 0.5;           // value loss weight (CleanRL: 0.5)
  double huber_delta = 0.0;       // Huber value loss beyond this error; 0 = squared (MAPPO: 10)
  double max_grad_norm = 0.5;     // global gradient clipping (CleanRL: 0.5)
  double target_kl = 0.0;  // stop the epochs early above this approx KL; 0 = off (CleanRL: None)
  std::vector<int64_t> hidden = {64,
                                 64};  // hidden layer sizes of actor and critic (CleanRL: [64, 64])
  std::string activation = "tanh";     // tanh | relu (CleanRL: tanh)
  bool layer_norm = false;    // LayerNorm on the input and after each hidden layer (MAPPO: on)
  double init_log_std = 0.0;  // continuous actions: initial state-independent log std (CleanRL: 0)
  bool a2c = false;           // A2C loss: -log_prob * advantage, no ratio, no clipping

  template <class V>
  void Visit(V& v);
};

// The networks are small MLPs computed by nn::DenseMlp on one flat parameter block (actor, critic,
// log std), with the loss gradient written out by hand: at CartPole's sizes LibTorch's dispatch
// overhead, not the math, would set the speed. Checkpoints name the layers as CleanRL's Agent
// (`actor.0.weight`, `critic.4.bias`, `actor_mean.*` and `actor_logstd` for Box actions).
class Ppo {
 public:
  // One minibatch of the flattened rollout (B rows), as Update hands it to Gradient.
  struct Minibatch {
    int64_t size = 0;
    const float* obs = nullptr;            // observations               (B x obs_dim)
    const int64_t* discrete = nullptr;     // discrete actions           (B x D)
    const float* continuous = nullptr;     // continuous actions         (B x C)
    const float* old_log_probs = nullptr;  // log-prob when acting       (B)
    const float* old_values = nullptr;     // V(obs) when acting         (B)
    const float* advantages = nullptr;     // GAE advantages             (B)
    const float* returns = nullptr;        // advantages + values        (B)
    const float* critic_obs = nullptr;     // the critic's input if separate   (B x critic_dim)
    const uint8_t* masks = nullptr;        // allowed discrete actions, 1 = allowed   (B x logits)
    int64_t total = 0;  // rows the losses average over when others hold the rest (0: size)
  };
  // The rollout's envs as gradient shards: the rows of global env g are shard g, this process
  // holds envs [first, first + local) of `total`, and a minibatch's gradient is the sum of its
  // shards' gradients in shard order, whichever process computed them. So one process with E
  // envs and N processes with E/N each give the same bits (dist/comm.h).
  struct Shards {
    int64_t first = 0, local = 1, total = 1;
  };
  struct Losses {
    double policy = 0, value = 0, entropy = 0;  // the three loss terms, minibatch means
    double old_approx_kl = 0, approx_kl = 0, clipfrac = 0;
  };

  // Initial weights and every later draw (actions, minibatch order) come from `seed`. The critic
  // reads the observation, or with critic_dim > 0 an input of its own (MAPPO's centralized
  // critic on the global state): then Act computes no values and Value takes that input.
  Ppo(const PpoConfig& config, const Space& observation_space, const Space& action_space,
      uint64_t seed, int64_t critic_dim = 0);

  // Samples actions for n observations (n x obs_dim). Writes discrete actions (n x D) or
  // continuous actions (n x C), and if given log-probs and values (n). With action masks
  // (n x logits: every head's, 1 = allowed) only allowed actions are drawn. Samples come from
  // `streams`: one per row (n), or one for every row; none: the learner's own generator.
  void Act(const float* obs, int64_t n, int64_t* discrete, float* continuous, float* log_probs,
           float* values, bool deterministic = false, const uint8_t* masks = nullptr,
           std::span<Rng> streams = {});
  // values (n) = V(x (n x critic_dim)), e.g. of final observations to bootstrap truncations.
  void Value(const float* x, int64_t n, float* values);
  // One PPO update over a full rollout of which this process holds `shards.local` envs (T x
  // local rows; the other ranks hold the rest): minibatches are drawn from all T x shards.total
  // rows, advantages are normalized over all of them, and the shard gradients are combined in
  // shard order. Returns CleanRL's losses/* metrics.
  std::map<std::string, double> Update(buffers::RolloutBuffer& rollout, double learning_rate,
                                       const Shards& shards);
  // The same over `batch` rows that `gather` assembles into minibatches; `values` and `returns`
  // (batch) give the explained variance.
  using Gather = std::function<Minibatch(std::span<const int64_t> rows)>;
  std::map<std::string, double> Update(int64_t batch, const Gather& gather,
                                       std::span<const float> values,
                                       std::span<const float> returns, double learning_rate);
  // gradients() = d loss / d parameters over one minibatch; returns the loss terms.
  Losses Gradient(const Minibatch& mb);

  const PpoConfig& config() const { return config_; }
  // Actor layers (weight, bias), critic layers, then log std, named and laid out as CleanRL's
  // Agent (copies).
  nn::NamedTensors parameters() const;
  nn::NamedTensors gradients() const;  // the same for the last Gradient
  // The networks, optimizer and generator.
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);

 private:
  // What one thread of Gradient works with: its share of the minibatch rows.
  struct Lane {
    nn::DenseMlp actor, critic;          // the nets, with this lane's activations
    std::vector<float> grads;            // d loss / d params over the lane's rows  (P)
    std::vector<float> d_out;            // d loss / d actor output                 (rows x out_pad)
    std::vector<float> d_value;          // d loss / d critic output                (rows x 8)
    std::vector<float> dlogp, dentropy;  // d logp, d entropy / d actor output      (act_dim)
    std::vector<float> dlogp_log_std;    // d logp / d log std                      (C)
    std::vector<double> log_pi;          // log softmax of one head                 (act_dim)
    Losses losses;                       // loss terms summed over the lane's rows
  };

  nn::NamedTensors AsTensors(const std::vector<float>& flat) const;
  // Rows [begin, end) of the minibatch: their gradient into `grads` (P), losses into lane.losses.
  void LaneGradient(Lane& lane, const Minibatch& mb, int64_t begin, int64_t end, double adv_mean,
                    double adv_scale, float* grads);
  // log pi(a) and entropy of one sample's policy head `out` (masked logits excluded when `mask`
  // is given), with their gradients w.r.t. `out` (and the log std) in the lane's scratch.
  // The rows of `mb` [bounds[k], bounds[k + 1]) as shard k's gradient and loss sums, into block
  // k of shard_grads_ (the lanes share the shards, or split each shard's rows).
  void ShardGradients(const Minibatch& mb, std::span<const int64_t> bounds, double adv_mean,
                      double adv_scale);
  // Every rank's shards summed in shard order into lanes_[0].grads; returns the summed losses.
  Losses CombineShards(int64_t total);
  // What the epochs of one update leave for its metrics.
  struct EpochStats {
    Losses last;             // the last minibatch's loss terms
    double clipfrac = 0.0;   // summed over the minibatch steps
    int64_t steps = 0;       // minibatch steps taken
    double grad_norm = 0.0;  // the last step's gradient norm before clipping
  };
  // Fills lanes_[0].grads with the gradient over the minibatch of these rows; returns its losses.
  using MinibatchGradient = std::function<Losses(std::span<const int64_t> rows)>;
  // update_epochs of minibatch Adam steps over `batch` rows, each epoch in a fresh random order.
  EpochStats RunEpochs(int64_t batch, const MinibatchGradient& gradient, double learning_rate);
  // CleanRL's losses/* and the optimizer's health after the last minibatch step.
  std::map<std::string, double> Metrics(const EpochStats& stats, std::span<const float> values,
                                        std::span<const float> returns, double learning_rate) const;
  void LogProb(Lane& lane, const float* out, const int64_t* discrete, const float* continuous,
               const uint8_t* mask, double* logp, double* entropy) const;

  PpoConfig config_;
  Space action_space_;
  bool discrete_;
  int64_t obs_dim_;
  int64_t critic_dim_;                // the critic's input width (obs_dim_ unless separate)
  int64_t act_dim_;                   // logits (sum of cardinalities) or continuous dims
  int64_t discrete_start_ = 0;        // Discrete(n, start): the first action's value
  nn::DenseMlp actor_, critic_;       // policy head (logits or mean), state value: for acting
  int64_t log_std_ = 0;               // offset of the state-independent log std (C) in params_
  std::vector<float> params_;         // actor, critic, log std                    (P)
  nn::FlatAdam adam_;                 // Adam moments over params_                 (2 x P)
  std::vector<Lane> lanes_;           // one per training thread; lanes_[0].grads is the sum
  std::unique_ptr<ThreadPool> pool_;  // runs the lanes; null with one thread
  Rng rng_;                           // action samples and minibatch order
  std::vector<int64_t> perm_;         // this epoch's row order                    (T x N)
  // the sharded update (Shards)
  std::vector<float> shard_grads_;   // this process's shards' gradients + loss sums (local x P+12)
  std::vector<float> all_grads_;     // every shard's, in shard order               (total x P+12)
  std::vector<float> rows_all_;      // advantages, values, returns of every env (3 x T x total)
  std::vector<int64_t> sorted_;      // a minibatch's rows ordered by shard       (B)
  std::vector<int64_t> bounds_;      // shard g's rows in sorted_: [bounds_[g], bounds_[g+1])
  std::vector<int64_t> cursor_;      // where each shard's next row goes, then local bounds
  std::vector<int64_t> local_rows_;  // this process's rows of sorted_, as its rollout's rows
};

template <class V>
void PpoConfig::Visit(V& v) {
  using config::Range;
  v("learning_rate", learning_rate, "Adam step size (CleanRL ppo.py: 2.5e-4)", Range::Positive());
  v("num_steps", num_steps, "steps per env per rollout (CleanRL: 128)", Range::Positive());
  v("anneal_lr", anneal_lr, "linearly anneal the learning rate to 0 (CleanRL: true)");
  v("gamma", gamma, "discount factor (CleanRL: 0.99)", Range::Closed(0, 1));
  v("gae_lambda", gae_lambda, "GAE lambda (CleanRL: 0.95)", Range::Closed(0, 1));
  v("num_minibatches", num_minibatches, "minibatches per epoch (CleanRL: 4)", Range::Positive());
  v("update_epochs", update_epochs, "epochs per rollout (CleanRL: 4)", Range::Positive());
  v("norm_adv", norm_adv, "normalize advantages per minibatch (CleanRL: true)");
  v("clip_coef", clip_coef, "surrogate clipping coefficient (CleanRL: 0.2)",
    Range::OpenClosed(0, 1));
  v("clip_vloss", clip_vloss, "clip the value loss like the policy (CleanRL: true)");
  v("ent_coef", ent_coef, "entropy bonus weight (CleanRL: 0.01; continuous: 0.0)",
    Range::NonNegative());
  v("vf_coef", vf_coef, "value loss weight (CleanRL: 0.5)", Range::NonNegative());
  v("huber_delta", huber_delta,
    "Huber value loss with this delta (MAPPO: 10); 0 = the squared error / 2 (CleanRL)",
    Range::NonNegative());
  v("max_grad_norm", max_grad_norm, "global gradient norm clip (CleanRL: 0.5)", Range::Positive());
  v("target_kl", target_kl, "stop epochs early above this approx KL, 0 = never (CleanRL: None)",
    Range::NonNegative());
  v("hidden", hidden, "hidden layer sizes of actor and critic (CleanRL: [64, 64])");
  v("activation", activation, "hidden activation (CleanRL: tanh)",
    config::Choices{{"tanh", "relu"}});
  v("layer_norm", layer_norm,
    "LayerNorm on the inputs and after each hidden activation of actor and critic (MAPPO's "
    "use_feature_normalization and MLP blocks; CleanRL: off)");
  v("init_log_std", init_log_std, "continuous: initial log std (CleanRL: 0)",
    Range::Closed(-20, 2));
  v("a2c", a2c, "use the A2C loss (no ratio, no clipping) instead of PPO's");
}

}  // namespace rlforge::algos
