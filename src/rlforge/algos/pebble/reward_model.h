// PEBBLE's reward model (Lee, Smith, Abbeel 2021; BPref reward_model.py): an ensemble of MLPs
// r_m(s, a) in (-1, 1) (a tanh output; `output: linear` leaves it unbounded, as RLHF-Gym) on
// [obs, action] (`actions: false`: obs only; `normalize_inputs`: standardized by the labelled
// steps' mean and std), trained with the Bradley-Terry model on summed segment rewards:
// P[segment 1 > segment 0] = softmax(sum r(seg 0), sum r(seg 1))[1]. The reward the agent sees is
// the ensemble mean. The members are DenseMlps (LeakyReLU, PyTorch's default init) on one flat
// block with one Adam, as BPref's single optimizer over every member; the loss gradient is
// written out (dL/dR1 = p1 - y per pair, spread over the segment's steps), tested against
// LibTorch autograd.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rlforge/algos/pebble/config.h"
#include "rlforge/core/rng.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/dense.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos::pebble {

// Segment pairs: side s of pair p is `length` steps of observations and actions.
struct PairBatch {
  int64_t size = 0, length = 0, obs_dim = 0, act_dim = 0;
  std::vector<float> obs[2];  // observations of each side          (P x H x obs_dim)
  std::vector<float> act[2];  // actions of each side               (P x H x act_dim)
  std::vector<float> labels;  // P[side 1 preferred]: 0, 0.5 or 1   (P)

  PairBatch() = default;
  PairBatch(int64_t size, int64_t length, int64_t obs_dim, int64_t act_dim);  // zeros, labels 0.5
  const float* Obs(int side, int64_t p) const { return obs[side].data() + p * length * obs_dim; }
  const float* Act(int side, int64_t p) const { return act[side].data() + p * length * act_dim; }
  // Appends `more`'s pairs and keeps the newest `capacity`.
  void Append(const PairBatch& more, int64_t capacity);
};

// Bradley-Terry cross-entropy of one pair with soft target y = P[segment 1 preferred], from the
// segment returns: -[(1 - y) log p0 + y log p1], p = softmax(return0, return1). Also p1.
std::pair<double, double> BradleyTerry(double return0, double return1, double y);

// SURF's temporal crop for B pairs of H-step segments: each pair keeps one random length in
// [H - crop, H], each side at its own random offset: [begin, end) of side s of pair b at
// 4 b + 2 s (B x 2 x 2). crop 0: the whole segments (no draws).
std::vector<int64_t> CropBounds(int64_t B, int64_t H, int crop, Rng& rng);

class RewardModel {
 public:
  RewardModel(int64_t obs_dim, int64_t act_dim, const RewardModelConfig& config, uint64_t seed);

  // Ensemble-mean reward of n steps: obs (n x obs_dim), act (n x act_dim) -> rewards (n).
  void Reward(const float* obs, const float* act, int64_t n, float* rewards);
  // Per-member P[side 1 preferred] of every pair (M x P), on whole segments.
  std::vector<double> PreferOne(const PairBatch& pairs);

  struct TrainStats {
    int epochs = 0;
    std::vector<double> loss, accuracy;  // per member, last epoch   (M)
    double pseudo_labelled = 0;          // SURF: share of unlabeled pairs above the threshold
    double train_loss = 0, validation_loss = 0;  // adaptive L2: after training, mean of members
    double l2 = 0;                               // the weight decay for the next session
    nn::OptimizerHealth health;                  // the ensemble's last optimizer step
  };
  // Up to max_epochs passes over the pairs, each member over its own shuffle, until the mean
  // accuracy (over pairs with a strict preference) exceeds stop_accuracy. With SURF, each batch
  // also carries mu x batch `unlabeled` pairs (labels ignored); with adaptive_l2 the newest
  // validation_fraction of the pairs is held out and sets the next session's l2.
  TrainStats Train(const PairBatch& pairs, const PairBatch& unlabeled, Rng& rng);
  TrainStats Train(const PairBatch& pairs, Rng& rng) { return Train(pairs, {}, rng); }

  // Member m's loss on pairs `idx` (cropped when SURF crops; crops drawn from rng), plus SURF's
  // pseudo-label loss on unlabeled pairs `u_idx`; its gradient is added to gradients(). Counts
  // correct strict predictions into `correct` and confident unlabeled pairs into `confident`.
  double MemberGradient(int m, const PairBatch& pairs, std::span<const int64_t> idx,
                        const PairBatch& unlabeled, std::span<const int64_t> u_idx, Rng& rng,
                        double* correct, double* confident);
  void ZeroGradients();
  // Every member's layers as `reward_model.{m}.{2l}.weight`/`.bias` (torch.nn.Sequential of
  // Linear, LeakyReLU, ..., Linear), and the same for the gradients.
  nn::NamedTensors parameters() const;
  nn::NamedTensors gradients() const;
  // The standardization of the nets' inputs: (x - mean) / std    (in)
  const std::vector<float>& input_mean() const { return input_mean_; }
  const std::vector<float>& input_std() const { return input_std_; }

  double l2() const { return l2_; }
  int ensemble_size() const { return static_cast<int>(members_.size()); }
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);

 private:
  // x (rows x in): the standardized [obs, act] of every step of side `side` of pairs `idx`,
  // appended.
  void AppendInputs(const PairBatch& p, int side, std::span<const int64_t> idx,
                    std::vector<float>* x) const;
  // r (rows) = member m's rewards for x; keeps the activations for Backward.
  const float* MemberForward(int m, const float* x, int64_t rows);
  double MeanLoss(const PairBatch& pairs, std::span<const int64_t> idx);  // whole segments
  // Per-input mean and std of every step of `pairs` (normalize_inputs), else 0 and 1.
  void SetInputStatistics(const PairBatch& pairs);

  RewardModelConfig config_;
  int64_t obs_dim_, act_dim_, in_;             // in_ = obs_dim (+ act_dim with actions)
  std::vector<nn::DenseMlp> members_;          // r_m: in -> hidden -> 1                  (M)
  std::vector<float> params_;                  // every member's parameters               (M x Pm)
  std::vector<float> grads_;                   // d summed loss / d params_               (M x Pm)
  nn::FlatAdam adam_;                          // one Adam over every member (BPref)
  std::vector<float> input_mean_, input_std_;  // standardization of the inputs       (in)
  double l2_;                                  // Adam's weight decay now
  std::vector<float> x_;       // inputs of one forward pass              (rows x in)
  std::vector<float> r_, dr_;  // rewards and d loss / d output of them   (rows)
  std::vector<float> dy_;      // d loss / d net output, padded           (rows x 8)
};

}  // namespace rlforge::algos::pebble
