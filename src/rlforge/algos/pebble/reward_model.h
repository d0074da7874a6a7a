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

#include "rlforge/core/config.h"
#include "rlforge/core/rng.h"

namespace rlforge::algos::pebble {

// SURF (Park et al. 2022; alinlab/SURF): unlabeled segment pairs the model is confident about
// (>= threshold) train it with their predicted label, and segments are cropped in time.
struct SurfConfig {
  bool enabled = false;
  double threshold = 0.99;   // pseudo-label confidence (SURF threshold_u: 0.99)
  int unlabeled_ratio = 10;  // unlabeled pairs drawn per query asked (SURF inv_label_ratio)
  int mu = 4;                // unlabeled pairs per labelled pair in a batch (SURF mu: 4)
  double loss_weight = 1.0;  // weight of the pseudo-label loss (SURF lambda_u: 1)
  int crop = 5;              // temporal crop range in steps, 0 = off (SURF crop_range: 5)
  int64_t capacity = 10000;  // unlabeled pairs kept, oldest dropped first

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("enabled", enabled, "train on confident pseudo-labels and cropped segments (SURF)");
    v("threshold", threshold, "pseudo-label confidence threshold (SURF: 0.99)",
      Range::OpenClosed(0.5, 1));
    v("unlabeled_ratio", unlabeled_ratio,
      "unlabeled pairs drawn per query asked (SURF inv_label_ratio: 10 Meta-World, 100 walker)",
      Range::Closed(1, 1e4));
    v("mu", mu, "unlabeled pairs per labelled pair in a batch (SURF: 4)", Range::Closed(1, 1e3));
    v("loss_weight", loss_weight, "weight of the pseudo-label loss (SURF lambda_u: 1)",
      Range::NonNegative());
    v("crop", crop, "temporal crop: segments shortened by up to this many steps (SURF: 5)",
      Range::Closed(0, 1e6));
    v("capacity", capacity, "unlabeled pairs kept, oldest dropped first", Range::Closed(1, 1e8));
  }
};

struct RewardModelConfig {
  int ensemble_size = 3;                          // members (BPref: 3)
  std::vector<int64_t> hidden = {256, 256, 256};  // hidden layers, LeakyReLU (BPref: 3 x 256)
  std::string output = "tanh";       // tanh: r in (-1, 1) (BPref); linear: unbounded (RLHF-Gym)
  bool actions = true;               // the nets see [obs, action] (BPref); false: obs only
  bool normalize_inputs = false;     // standardize inputs by the labelled segments' statistics
  double lr = 3e-4;                  // one Adam over all members (BPref: 3e-4)
  int batch_size = 128;              // pairs per gradient step (BPref: 128)
  int max_epochs = 50;               // passes per session (BPref reward_update: 50)
  double stop_accuracy = 0.97;       // stop a session's training above this accuracy (BPref: 0.97)
  double l2 = 0.0;                   // Adam weight decay (BPref: 0; RLHF-Gym: 0.01)
  bool adaptive_l2 = false;          // RLHF-Gym: tune l2 from the validation/train loss ratio
  double validation_fraction = 0.2;  // newest labelled pairs held out when adaptive_l2
  SurfConfig surf;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("ensemble_size", ensemble_size, "reward model ensemble members (BPref: 3)",
      Range::Closed(1, 64));
    v("hidden", hidden, "reward model hidden sizes, LeakyReLU (BPref: [256]*3)");
    v("output", output,
      "last activation: tanh bounds r to (-1, 1) (BPref), linear does not "
      "(RLHF-Gym)",
      config::Choices{{"tanh", "linear"}});
    v("actions", actions,
      "the reward nets see [obs, action] (BPref); false: obs only, so the actor cannot raise the "
      "learned reward through the action alone");
    v("normalize_inputs", normalize_inputs,
      "standardize each input by the mean and std over every step of the labelled segments, "
      "recomputed each session (as imitation's RunningNorm), so large-scale inputs such as joint "
      "velocities do not drown the small ones the reward depends on");
    v("lr", lr, "reward model Adam learning rate (BPref: 3e-4)", Range::Positive());
    v("batch_size", batch_size, "labelled pairs per reward model step (BPref: 128)",
      Range::Closed(1, 1e6));
    v("max_epochs", max_epochs, "passes over the labels per feedback session (BPref: 50)",
      Range::Closed(1, 1e6));
    v("stop_accuracy", stop_accuracy, "stop training above this mean accuracy (BPref: 0.97)",
      Range::OpenClosed(0, 1));
    v("l2", l2, "Adam weight decay on the members (BPref: 0; RLHF-Gym: 0.01)",
      Range::NonNegative());
    v("adaptive_l2", adaptive_l2,
      "after each session scale l2 by 0.95 if validation/train loss < 1.1, by 1.05 if > 1.5 "
      "(RLHF-Gym)");
    v("validation_fraction", validation_fraction,
      "newest labelled pairs held out of training for adaptive_l2's validation loss",
      Range{0, 1, true, true});
    v.Section("surf", surf, "SURF: pseudo-labels and temporal cropping");
  }
};

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
