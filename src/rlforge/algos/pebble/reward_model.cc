#include "rlforge/algos/pebble/reward_model.h"

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"

namespace rlforge::algos::pebble {

torch::Tensor BradleyTerryLoss(const torch::Tensor& return0, const torch::Tensor& return1,
                               const torch::Tensor& y) {
  const torch::Tensor log_p = torch::log_softmax(torch::stack({return0, return1}, 1), 1);
  return -((1 - y) * log_p.select(1, 0) + y * log_p.select(1, 1)).mean();
}

RewardModel::RewardModel(int64_t obs_dim, int64_t act_dim, const RewardModelConfig& config)
    : config_(config) {
  std::vector<torch::Tensor> params;
  for (int m = 0; m < config.ensemble_size; ++m) {
    torch::nn::Sequential net;
    int64_t width = obs_dim + act_dim;
    for (const int64_t h : config.hidden) {
      net->push_back(torch::nn::Linear(width, h));
      net->push_back(torch::nn::LeakyReLU());  // slope 0.01, PyTorch's default as BPref
      width = h;
    }
    net->push_back(torch::nn::Linear(width, 1));
    net->push_back(torch::nn::Tanh());
    for (const auto& p : net->parameters()) params.push_back(p);
    members_.push_back(net);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config.lr));
}

torch::Tensor RewardModel::MemberReward(int m, const torch::Tensor& obs, const torch::Tensor& act) {
  return members_[m]->forward(torch::cat({obs, act}, -1)).squeeze(-1);
}

torch::Tensor RewardModel::Reward(const torch::Tensor& obs, const torch::Tensor& act) {
  torch::NoGradGuard no_grad;
  torch::Tensor sum = MemberReward(0, obs, act);
  for (int m = 1; m < ensemble_size(); ++m) sum = sum + MemberReward(m, obs, act);
  return sum / ensemble_size();
}

torch::Tensor RewardModel::SegmentReturns(const torch::Tensor& obs, const torch::Tensor& act) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> per_member;
  for (int m = 0; m < ensemble_size(); ++m) per_member.push_back(MemberReward(m, obs, act).sum(1));
  return torch::stack(per_member);
}

torch::Tensor RewardModel::PreferOne(const PairBatch& pairs) {
  const torch::Tensor r0 = SegmentReturns(pairs.obs0, pairs.act0);
  const torch::Tensor r1 = SegmentReturns(pairs.obs1, pairs.act1);
  return torch::softmax(torch::stack({r0, r1}, 2), 2).select(2, 1);
}

RewardModel::TrainStats RewardModel::Train(const PairBatch& pairs, Rng& rng) {
  const int64_t n = pairs.labels.size(0);
  if (n == 0) throw Error("pebble: no labelled pairs to train the reward model on");
  const torch::Tensor strict = pairs.labels != 0.5;  // pairs with a preference count for accuracy
  const double n_strict = std::max<double>(1.0, strict.sum().item<double>());
  TrainStats stats;
  for (int epoch = 0; epoch < config_.max_epochs; ++epoch) {
    // each member walks the pairs in its own order (BPref: a permutation each, not a bootstrap)
    std::vector<std::vector<int64_t>> order(ensemble_size());
    for (auto& o : order) {
      o.resize(static_cast<size_t>(n));
      std::iota(o.begin(), o.end(), 0);
      for (int64_t i = n - 1; i > 0; --i) std::swap(o[i], o[rng.Integers(i + 1)]);
    }
    std::vector<double> loss_sum(ensemble_size()), correct(ensemble_size());
    for (int64_t start = 0; start < n; start += config_.batch_size) {
      const int64_t end = std::min(n, start + config_.batch_size);
      torch::Tensor total = torch::zeros({});
      for (int m = 0; m < ensemble_size(); ++m) {
        const torch::Tensor idx =
            torch::tensor(std::vector<int64_t>(order[m].begin() + start, order[m].begin() + end));
        const torch::Tensor r0 = MemberReward(m, pairs.obs0.index({idx}), pairs.act0.index({idx}));
        const torch::Tensor r1 = MemberReward(m, pairs.obs1.index({idx}), pairs.act1.index({idx}));
        const torch::Tensor y = pairs.labels.index({idx});
        const torch::Tensor ret0 = r0.sum(1), ret1 = r1.sum(1);
        const torch::Tensor loss = BradleyTerryLoss(ret0, ret1, y);
        total = total + loss;  // the members' losses summed, one optimizer step
        loss_sum[m] += loss.item<double>() * static_cast<double>(end - start);
        const torch::Tensor predicted = (ret1 > ret0).to(torch::kFloat32);
        correct[m] += ((predicted == y) & strict.index({idx})).sum().item<double>();
      }
      optimizer_->zero_grad();
      total.backward();
      optimizer_->step();
    }
    stats.epochs = epoch + 1;
    stats.loss.assign(ensemble_size(), 0.0);
    stats.accuracy.assign(ensemble_size(), 0.0);
    double mean_accuracy = 0.0;
    for (int m = 0; m < ensemble_size(); ++m) {
      stats.loss[m] = loss_sum[m] / static_cast<double>(n);
      stats.accuracy[m] = correct[m] / n_strict;
      mean_accuracy += stats.accuracy[m] / ensemble_size();
    }
    if (mean_accuracy > config_.stop_accuracy) break;
  }
  return stats;
}

void RewardModel::Save(torch::serialize::OutputArchive& archive) const {
  for (int m = 0; m < ensemble_size(); ++m)
    nn::SaveTo(archive, ("reward_member_" + std::to_string(m)).c_str(), members_[m]);
  nn::SaveTo(archive, "reward_opt", *optimizer_);
}

void RewardModel::Load(torch::serialize::InputArchive& archive) {
  for (int m = 0; m < ensemble_size(); ++m)
    nn::LoadFrom(archive, ("reward_member_" + std::to_string(m)).c_str(), members_[m]);
  nn::LoadFrom(archive, "reward_opt", *optimizer_);
}

}  // namespace rlforge::algos::pebble
