// PEBBLE's reward model (Lee, Smith, Abbeel 2021; BPref reward_model.py): an ensemble of MLPs
// r_m(s, a) in (-1, 1) (a tanh output; `output: linear` leaves it unbounded, as RLHF-Gym) on
// [obs, action] (`actions: false`: obs only; `normalize_inputs`: standardized by the labelled
// steps' mean and std), trained with the Bradley-Terry model on summed segment rewards:
// P[segment 1 > segment 0] = softmax(sum r(seg 0), sum r(seg 1))[1]. The reward the agent sees is
// the ensemble mean.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlforge/algos/pebble/config.h"
#include "rlforge/core/rng.h"

namespace rlforge::algos::pebble {

// Bradley-Terry cross-entropy with soft targets y = P[segment 1 preferred] (0, 0.5 or 1), from
// segment returns (B) of each side: mean over pairs of -[(1 - y) log p0 + y log p1].
torch::Tensor BradleyTerryLoss(const torch::Tensor& return0, const torch::Tensor& return1,
                               const torch::Tensor& y);
// The same per pair (B).
torch::Tensor BradleyTerryLosses(const torch::Tensor& return0, const torch::Tensor& return1,
                                 const torch::Tensor& y);
// SURF's temporal crop for B segments of H steps: each pair keeps one random length in
// [H - crop, H], each side at its own random offset. Two (B x H) masks of 0/1.
std::pair<torch::Tensor, torch::Tensor> CropMasks(int64_t B, int64_t H, int crop, Rng& rng);

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
    double pseudo_labelled = 0;          // SURF: share of unlabeled pairs above the threshold
    double train_loss = 0, validation_loss = 0;  // adaptive L2: after training, mean of members
    double l2 = 0;                               // the weight decay for the next session
  };
  // Up to max_epochs passes over the pairs, each member over its own shuffle, until the mean
  // accuracy (over pairs with a strict preference) exceeds stop_accuracy. With SURF, each batch
  // also carries mu x batch `unlabeled` pairs (labels ignored); with adaptive_l2 the newest
  // validation_fraction of the pairs is held out and sets the next session's l2.
  TrainStats Train(const PairBatch& pairs, const PairBatch& unlabeled, Rng& rng);
  TrainStats Train(const PairBatch& pairs, Rng& rng) { return Train(pairs, {}, rng); }
  double l2() const { return l2_; }

  int ensemble_size() const { return static_cast<int>(members_.size()); }
  void Save(torch::serialize::OutputArchive& archive) const;
  void Load(torch::serialize::InputArchive& archive);

 private:
  torch::Tensor MemberReward(int m, const torch::Tensor& obs, const torch::Tensor& act);
  // Member m's loss on pairs `idx` (cropped when SURF crops), plus SURF's pseudo-label loss on
  // unlabeled pairs `u_idx`; adds correct strict predictions to `correct`.
  torch::Tensor MemberLoss(int m, const PairBatch& pairs, const torch::Tensor& idx,
                           const PairBatch& unlabeled, const torch::Tensor& u_idx, Rng& rng,
                           double* correct, double* confident);
  double MeanLoss(const PairBatch& pairs, const torch::Tensor& idx);  // no crop, no grad
  void SetL2(double l2);

  // Per-input mean and std of every step of `pairs` (normalize_inputs), else 0 and 1.
  void SetInputStatistics(const PairBatch& pairs);

  RewardModelConfig config_;
  std::vector<torch::nn::Sequential> members_;     // [obs, act] (or obs) -> r   (M)
  torch::Tensor input_mean_, input_std_;           // standardization of the nets' input  (in)
  std::unique_ptr<torch::optim::Adam> optimizer_;  // over every member's parameters
  double l2_;                                      // its weight decay now
};

}  // namespace rlforge::algos::pebble
