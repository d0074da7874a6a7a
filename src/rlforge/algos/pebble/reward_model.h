// PEBBLE's reward model (Lee, Smith, Abbeel 2021; BPref reward_model.py): an ensemble of MLPs
// r_m(s, a) in (-1, 1) on [obs, action], trained with the Bradley-Terry model on summed segment
// rewards: P[segment 1 > segment 0] = softmax(sum r(seg 0), sum r(seg 1))[1]. The reward the
// agent sees is the ensemble mean.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"

namespace rlforge::algos::pebble {

struct RewardModelConfig {
  int ensemble_size = 3;                          // members (BPref: 3)
  std::vector<int64_t> hidden = {256, 256, 256};  // hidden layers, LeakyReLU (BPref: 3 x 256)
  double lr = 3e-4;                               // one Adam over all members (BPref: 3e-4)
  int batch_size = 128;                           // pairs per gradient step (BPref: 128)
  int max_epochs = 50;                            // passes per session (BPref reward_update: 50)
  double stop_accuracy = 0.97;  // stop a session's training above this accuracy (BPref: 0.97)

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("ensemble_size", ensemble_size, "reward model ensemble members (BPref: 3)",
      Range::Closed(1, 64));
    v("hidden", hidden, "reward model hidden sizes, LeakyReLU, tanh output (BPref: [256]*3)");
    v("lr", lr, "reward model Adam learning rate (BPref: 3e-4)", Range::Positive());
    v("batch_size", batch_size, "labelled pairs per reward model step (BPref: 128)",
      Range::Closed(1, 1e6));
    v("max_epochs", max_epochs, "passes over the labels per feedback session (BPref: 50)",
      Range::Closed(1, 1e6));
    v("stop_accuracy", stop_accuracy, "stop training above this mean accuracy (BPref: 0.97)",
      Range::OpenClosed(0, 1));
  }
};

// Bradley-Terry cross-entropy with soft targets y = P[segment 1 preferred] (0, 0.5 or 1), from
// segment returns (B) of each side: mean over pairs of -[(1 - y) log p0 + y log p1].
torch::Tensor BradleyTerryLoss(const torch::Tensor& return0, const torch::Tensor& return1,
                               const torch::Tensor& y);

// Labelled segment pairs: segments are (P x H x dim), labels (P) in {0, 0.5, 1}.
struct PairBatch {
  torch::Tensor obs0, act0, obs1, act1, labels;
};

class RewardModel {
 public:
  RewardModel(int64_t obs_dim, int64_t act_dim, const RewardModelConfig& config);

  // Ensemble-mean reward for (... x obs_dim), (... x act_dim) -> (...).
  torch::Tensor Reward(const torch::Tensor& obs, const torch::Tensor& act);
  // Per-member summed rewards of segments (P x H x dim) -> (M x P).
  torch::Tensor SegmentReturns(const torch::Tensor& obs, const torch::Tensor& act);
  // Per-member P[segment 1 preferred] -> (M x P).
  torch::Tensor PreferOne(const PairBatch& pairs);

  struct TrainStats {
    int epochs = 0;
    std::vector<double> loss, accuracy;  // per member, last epoch   (M)
  };
  // Up to max_epochs passes over every pair, each member over its own shuffle, until the mean
  // accuracy (over pairs with a strict preference) exceeds stop_accuracy.
  TrainStats Train(const PairBatch& pairs, Rng& rng);

  int ensemble_size() const { return static_cast<int>(members_.size()); }
  void Save(torch::serialize::OutputArchive& archive) const;
  void Load(torch::serialize::InputArchive& archive);

 private:
  torch::Tensor MemberReward(int m, const torch::Tensor& obs, const torch::Tensor& act);

  RewardModelConfig config_;
  std::vector<torch::nn::Sequential> members_;     // [obs, act] -> r in (-1, 1)   (M)
  std::unique_ptr<torch::optim::Adam> optimizer_;  // over every member's parameters
};

}  // namespace rlforge::algos::pebble
