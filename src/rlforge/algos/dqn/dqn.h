// DQN (Mnih et al. 2015) as CleanRL's dqn.py, with Double DQN and Huber loss options.
#pragma once

#include <map>
#include <span>
#include <string>

#include "rlforge/buffers/batch.h"
#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"
#include "rlforge/nn/lanes.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {

struct DqnConfig {
  double learning_rate = 2.5e-4;           // Adam step size (CleanRL dqn.py: 2.5e-4)
  int64_t buffer_size = 10'000;            // replay capacity (CleanRL: 10000)
  double gamma = 0.99;                     // discount (CleanRL: 0.99)
  double tau = 1.0;                        // target update rate, 1 = hard copy (CleanRL: 1.0)
  int64_t target_network_frequency = 500;  // env steps between target updates (CleanRL: 500)
  int batch_size = 128;                    // replay batch (CleanRL: 128)
  double start_e = 1.0;                    // initial exploration epsilon (CleanRL: 1)
  double end_e = 0.05;                     // final epsilon (CleanRL: 0.05)
  double exploration_fraction =
      0.5;  // fraction of total_timesteps to anneal epsilon (CleanRL: 0.5)
  int64_t learning_starts =
      10'000;                // env steps of pure exploration before learning (CleanRL: 10000)
  int train_frequency = 10;  // env steps per gradient step (CleanRL: 10)
  std::vector<int64_t> hidden = {120, 84};  // Q network hidden sizes (CleanRL: [120, 84])
  bool double_dqn = false;     // select the next action with the online network (van Hasselt 2016)
  bool huber = false;          // Huber (smooth L1) loss instead of MSE (CleanRL: MSE)
  double max_grad_norm = 0.0;  // gradient clipping, 0 = off (CleanRL: off)

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("learning_rate", learning_rate, "Adam step size (CleanRL dqn.py: 2.5e-4)", Range::Positive());
    v("buffer_size", buffer_size, "replay capacity (CleanRL: 10000)", Range::Closed(1, 1e9));
    v("gamma", gamma, "discount (CleanRL: 0.99)", Range::Closed(0, 1));
    v("tau", tau, "target update rate, 1 = hard copy (CleanRL: 1.0)", Range::OpenClosed(0, 1));
    v("target_network_frequency", target_network_frequency,
      "env steps between target updates (CleanRL: 500)", Range::Positive());
    v("batch_size", batch_size, "replay batch size (CleanRL: 128)", Range::Closed(1, 1e6));
    v("start_e", start_e, "initial exploration epsilon (CleanRL: 1)", Range::Closed(0, 1));
    v("end_e", end_e, "final exploration epsilon (CleanRL: 0.05)", Range::Closed(0, 1));
    v("exploration_fraction", exploration_fraction,
      "share of total_timesteps to anneal epsilon (CleanRL: 0.5)", Range::OpenClosed(0, 1));
    v("learning_starts", learning_starts, "env steps before learning starts (CleanRL: 10000)",
      Range::NonNegative());
    v("train_frequency", train_frequency, "env steps per gradient step (CleanRL: 10)",
      Range::Closed(1, 1e6));
    v("hidden", hidden, "Q network hidden sizes (CleanRL: [120, 84])");
    v("double_dqn", double_dqn, "Double DQN targets (van Hasselt et al. 2016)");
    v("huber", huber, "Huber loss instead of MSE (CleanRL: MSE)");
    v("max_grad_norm", max_grad_norm, "global gradient norm clip, 0 = off (CleanRL: off)",
      Range::NonNegative());
  }
};

// Checkpoints name the online network `q.{0,2,4}.*` (a torch.nn.Sequential) and the target
// `q_target.*`.
class Dqn {
 public:
  Dqn(const DqnConfig& config, const Space& observation_space, const Space& action_space,
      uint64_t seed);

  // Greedy actions for n observations (n x obs_dim).
  void Act(const float* obs, int64_t n, int64_t* discrete);
  // Q(obs, action) of one observation (what the video overlay shows).
  double QValue(const float* obs, int64_t action);
  // Epsilon-greedy actions for n observations; the draws come from `streams` (one per row) if
  // given, else from this agent's RNG.
  void Explore(const float* obs, int64_t n, double epsilon, int64_t* discrete,
               std::span<Rng> streams = {});
  // One gradient step on a replay batch (obs, next_obs, discrete_actions, rewards, discounts);
  // under mpirun the ranks' gradients are averaged (dist/comm.h) before clipping.
  std::map<std::string, double> Update(buffers::Batch& batch);
  void UpdateTarget();  // target <- tau * online + (1 - tau) * target
  // opt/q_network/...: the last step (nn::OptimizerHealth), when it is logged.
  std::map<std::string, double> Health() const;

  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);
  // The online network's layers (weight, bias each), in PyTorch's Linear layout.
  nn::NamedTensors parameters() const;
  nn::NamedTensors gradients() const;  // of the last Update, in the same layout

 private:
  // What one training thread works with: its share of the batch rows, with its own activations.
  struct Lane {
    nn::DenseMlp q;               // the Q network, with this lane's activations
    std::vector<float> grads;     // d TD loss / d params over its rows (P)
    std::vector<float> next_q;    // target Q(s', .) of its rows        (rows x n_pad)
    std::vector<float> y;         // r + discount * next value          (rows)
    std::vector<float> d_q;       // d loss / d online Q(s, .)          (rows x n_pad)
    double loss = 0, q_mean = 0;  // its rows' share of the mean loss and of mean Q(s, a)
  };
  // The replay batch's columns (B rows), read by the lanes.
  struct TdBatch {
    const float* obs;        // s                                  (B x obs_dim)
    const float* next_obs;   // s'                                 (B x obs_dim)
    const float* rewards;    // r                                  (B)
    const float* discounts;  // gamma^n, 0 after a terminal        (B)
    const int64_t* actions;  // a, the action space's values       (B)
    int64_t B;               // rows
  };
  // The TD loss's gradient over rows [begin, end) of the batch into lane.grads.
  void LossRows(Lane& lane, const TdBatch& batch, int64_t begin, int64_t end);

  DqnConfig config_;
  Space action_space_;
  int64_t obs_dim_;
  nn::DenseMlp q_;             // obs -> Q of each action (n), on the dense kernels: for acting
  std::vector<float> params_;  // online Q network                  (P)
  std::vector<float> target_;  // target Q network                  (P)
  nn::FlatAdam adam_;          // Adam moments over params_         (2 x P)
  nn::Lanes<Lane> lanes_;      // one per training thread; lanes_[0].grads is the sum
  double clip_coef_ = 1.0;     // what clipping scaled the last gradient by
  Rng rng_;                    // exploration draws
};

}  // namespace rlforge::algos
