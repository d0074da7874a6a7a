#include "rlforge/algos/pebble/reward_model.h"

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"

namespace rlforge::algos::pebble {

torch::Tensor BradleyTerryLosses(const torch::Tensor& return0, const torch::Tensor& return1,
                                 const torch::Tensor& y) {
  const torch::Tensor log_p = torch::log_softmax(torch::stack({return0, return1}, 1), 1);
  return -((1 - y) * log_p.select(1, 0) + y * log_p.select(1, 1));
}

torch::Tensor BradleyTerryLoss(const torch::Tensor& return0, const torch::Tensor& return1,
                               const torch::Tensor& y) {
  return BradleyTerryLosses(return0, return1, y).mean();
}

std::pair<torch::Tensor, torch::Tensor> CropMasks(int64_t B, int64_t H, int crop, Rng& rng) {
  const int64_t shortest = std::max<int64_t>(1, H - crop);
  std::vector<int64_t> bounds(static_cast<size_t>(4 * B));  // start0, end0, start1, end1
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = shortest + rng.Integers(H - shortest + 1);
    for (int side = 0; side < 2; ++side) {
      const int64_t start = rng.Integers(H - length + 1);
      bounds[4 * b + 2 * side] = start;
      bounds[4 * b + 2 * side + 1] = start + length;
    }
  }
  const torch::Tensor t = torch::tensor(bounds).view({B, 2, 2});
  const torch::Tensor steps = torch::arange(H).view({1, H});
  const auto mask = [&](int side) {
    const torch::Tensor start = t.select(1, side).select(1, 0).unsqueeze(1);
    const torch::Tensor end = t.select(1, side).select(1, 1).unsqueeze(1);
    return ((steps >= start) & (steps < end)).to(torch::kFloat32);
  };
  return {mask(0), mask(1)};
}

RewardModel::RewardModel(int64_t obs_dim, int64_t act_dim, const RewardModelConfig& config)
    : config_(config),
      input_mean_(torch::zeros({obs_dim + (config.actions ? act_dim : 0)})),
      input_std_(torch::ones_like(input_mean_)),
      l2_(config.l2) {
  std::vector<torch::Tensor> params;
  for (int m = 0; m < config.ensemble_size; ++m) {
    torch::nn::Sequential net;
    int64_t width = input_mean_.size(0);
    for (const int64_t h : config.hidden) {
      net->push_back(torch::nn::Linear(width, h));
      net->push_back(torch::nn::LeakyReLU());  // slope 0.01, PyTorch's default as BPref
      width = h;
    }
    net->push_back(torch::nn::Linear(width, 1));
    if (config.output == "tanh") net->push_back(torch::nn::Tanh());
    for (const auto& p : net->parameters()) params.push_back(p);
    members_.push_back(net);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(config.lr).weight_decay(config.l2));
}

void RewardModel::SetL2(double l2) {
  l2_ = l2;
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).weight_decay(l2);
}

torch::Tensor RewardModel::MemberReward(int m, const torch::Tensor& obs, const torch::Tensor& act) {
  const torch::Tensor input = config_.actions ? torch::cat({obs, act}, -1) : obs;
  if (!config_.normalize_inputs) return members_[m]->forward(input).squeeze(-1);
  return members_[m]->forward((input - input_mean_) / input_std_).squeeze(-1);
}

void RewardModel::SetInputStatistics(const PairBatch& pairs) {
  if (!config_.normalize_inputs) return;
  const auto rows = [&](const torch::Tensor& obs, const torch::Tensor& act) {
    const torch::Tensor input = config_.actions ? torch::cat({obs, act}, -1) : obs;
    return input.reshape({-1, input.size(-1)});
  };
  const torch::Tensor all =
      torch::cat({rows(pairs.obs0, pairs.act0), rows(pairs.obs1, pairs.act1)});
  input_mean_ = all.mean(0);
  input_std_ = all.std(0, /*unbiased=*/false).clamp_min(1e-3);  // a constant input stays finite
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

torch::Tensor RewardModel::MemberLoss(int m, const PairBatch& pairs, const torch::Tensor& idx,
                                      const PairBatch& unlabeled, const torch::Tensor& u_idx,
                                      Rng& rng, double* correct, double* confident) {
  const SurfConfig& surf = config_.surf;
  const int64_t H = pairs.obs0.size(1);
  const auto returns = [&](const PairBatch& p, const torch::Tensor& rows, int crop) {
    const torch::Tensor r0 = MemberReward(m, p.obs0.index({rows}), p.act0.index({rows}));
    const torch::Tensor r1 = MemberReward(m, p.obs1.index({rows}), p.act1.index({rows}));
    if (crop == 0) return std::make_tuple(r0.sum(1), r1.sum(1), r0, r1);
    const auto [mask0, mask1] = CropMasks(rows.size(0), H, crop, rng);
    return std::make_tuple((mask0 * r0).sum(1), (mask1 * r1).sum(1), r0, r1);
  };
  const int crop = surf.enabled ? surf.crop : 0;
  const auto [ret0, ret1, r0, r1] = returns(pairs, idx, crop);
  const torch::Tensor y = pairs.labels.index({idx});
  torch::Tensor loss = BradleyTerryLoss(ret0, ret1, y);
  const torch::Tensor predicted = (ret1 > ret0).to(torch::kFloat32);
  *correct += ((predicted == y) & (y != 0.5)).sum().item<double>();
  if (!surf.enabled || u_idx.numel() == 0) return loss;
  // pseudo-labels from the member's own prediction on the whole segments, where it is confident
  const auto [u_ret0, u_ret1, u_r0, u_r1] = returns(unlabeled, u_idx, crop);
  torch::Tensor pseudo, keep;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor p1 =
        torch::softmax(torch::stack({u_r0.sum(1), u_r1.sum(1)}, 1), 1).select(1, 1);
    keep = (torch::max(p1, 1 - p1) >= surf.threshold).to(torch::kFloat32);
    pseudo = (p1 > 0.5).to(torch::kFloat32);
    *confident += keep.sum().item<double>();
  }
  return loss + surf.loss_weight * (BradleyTerryLosses(u_ret0, u_ret1, pseudo) * keep).mean();
}

double RewardModel::MeanLoss(const PairBatch& pairs, const torch::Tensor& idx) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int m = 0; m < ensemble_size(); ++m) {
    const torch::Tensor r0 = MemberReward(m, pairs.obs0.index({idx}), pairs.act0.index({idx}));
    const torch::Tensor r1 = MemberReward(m, pairs.obs1.index({idx}), pairs.act1.index({idx}));
    total += BradleyTerryLoss(r0.sum(1), r1.sum(1), pairs.labels.index({idx})).item<double>();
  }
  return total / ensemble_size();
}

namespace {

std::string ShapeOf(const torch::Tensor& t) {
  std::string s = "[";
  for (const int64_t d : t.sizes()) s += (s.size() > 1 ? ", " : "") + std::to_string(d);
  return s + "]";
}

// Fisher-Yates over 0..n-1 with the run's RNG.
std::vector<int64_t> Shuffled(int64_t n, Rng& rng) {
  std::vector<int64_t> o(static_cast<size_t>(n));
  std::iota(o.begin(), o.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(o[i], o[rng.Integers(i + 1)]);
  return o;
}

torch::Tensor Slice(const std::vector<int64_t>& v, int64_t from, int64_t to) {
  return torch::tensor(std::vector<int64_t>(v.begin() + from, v.begin() + to));
}

}  // namespace

RewardModel::TrainStats RewardModel::Train(const PairBatch& pairs, const PairBatch& unlabeled,
                                           Rng& rng) {
  const int64_t total = pairs.labels.size(0);
  if (total == 0) throw Error("pebble: no labelled pairs to train the reward model on");
  SetInputStatistics(pairs);
  // adaptive L2 holds out the newest pairs (the last rows) for a validation loss
  const int64_t held_out =
      config_.adaptive_l2 && total >= 2
          ? std::clamp<int64_t>(std::llround(config_.validation_fraction * total), 1, total - 1)
          : 0;
  const int64_t n = total - held_out;
  const double n_strict =
      std::max<double>(1.0, (pairs.labels.slice(0, 0, n) != 0.5).sum().item<double>());
  const int64_t n_unlabeled =
      config_.surf.enabled && unlabeled.obs0.defined() ? unlabeled.obs0.size(0) : 0;
  const int64_t u_batch =
      std::min<int64_t>(n_unlabeled, int64_t{config_.surf.mu} * config_.batch_size);
  std::vector<std::vector<int64_t>> u_order(ensemble_size());  // each member cycles its own
  std::vector<int64_t> u_next(ensemble_size(), n_unlabeled);
  TrainStats stats;
  double confident = 0, seen_unlabeled = 0;
  for (int epoch = 0; epoch < config_.max_epochs; ++epoch) {
    // each member walks the pairs in its own order (BPref: a permutation each, not a bootstrap)
    std::vector<std::vector<int64_t>> order(ensemble_size());
    for (auto& o : order) o = Shuffled(n, rng);
    std::vector<double> loss_sum(ensemble_size()), correct(ensemble_size());
    confident = seen_unlabeled = 0;
    for (int64_t start = 0; start < n; start += config_.batch_size) {
      const int64_t end = std::min(n, start + config_.batch_size);
      torch::Tensor sum = torch::zeros({});
      for (int m = 0; m < ensemble_size(); ++m) {
        torch::Tensor u_idx = torch::zeros({0}, torch::kInt64);
        if (u_batch > 0) {
          if (u_next[m] + u_batch > n_unlabeled) {
            u_order[m] = Shuffled(n_unlabeled, rng);
            u_next[m] = 0;
          }
          u_idx = Slice(u_order[m], u_next[m], u_next[m] + u_batch);
          u_next[m] += u_batch;
          seen_unlabeled += static_cast<double>(u_batch);
        }
        const torch::Tensor loss = MemberLoss(m, pairs, Slice(order[m], start, end), unlabeled,
                                              u_idx, rng, &correct[m], &confident);
        sum = sum + loss;  // the members' losses summed, one optimizer step
        loss_sum[m] += loss.item<double>() * static_cast<double>(end - start);
      }
      optimizer_->zero_grad();
      sum.backward();
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
  if (seen_unlabeled > 0) stats.pseudo_labelled = confident / seen_unlabeled;
  if (held_out > 0) {  // RLHF-Gym: more decay when it overfits, less when it does not
    stats.train_loss = MeanLoss(pairs, torch::arange(n));
    stats.validation_loss = MeanLoss(pairs, torch::arange(n, total));
    const double ratio = stats.validation_loss / std::max(stats.train_loss, 1e-12);
    if (ratio < 1.1) SetL2(l2_ * 0.95);
    if (ratio > 1.5) SetL2(l2_ * 1.05);
  }
  stats.l2 = l2_;
  return stats;
}

void RewardModel::Save(torch::serialize::OutputArchive& archive) const {
  for (int m = 0; m < ensemble_size(); ++m)
    nn::SaveTo(archive, ("reward_member_" + std::to_string(m)).c_str(), members_[m]);
  nn::SaveTo(archive, "reward_opt", *optimizer_);
  archive.write("reward_l2", torch::tensor(l2_, torch::kFloat64), /*is_buffer=*/true);
  archive.write("reward_input_mean", input_mean_, /*is_buffer=*/true);
  archive.write("reward_input_std", input_std_, /*is_buffer=*/true);
}

void RewardModel::Load(torch::serialize::InputArchive& archive) {
  for (int m = 0; m < ensemble_size(); ++m)
    nn::LoadFrom(archive, ("reward_member_" + std::to_string(m)).c_str(), members_[m]);
  nn::LoadFrom(archive, "reward_opt", *optimizer_);
  torch::Tensor l2;
  archive.read("reward_l2", l2, /*is_buffer=*/true);
  SetL2(l2.item<double>());  // LibTorch's optimizer state does not carry its options
  for (auto [name, stat] :
       {std::pair{"reward_input_mean", &input_mean_}, std::pair{"reward_input_std", &input_std_}}) {
    torch::Tensor t;
    archive.read(name, t, /*is_buffer=*/true);
    if (!t.sizes().equals(stat->sizes()))
      throw Error(std::string("checkpoint: ") + name + " has shape " + ShapeOf(t) + ", expected " +
                  ShapeOf(*stat) + " (one value per reward-model input)");
    *stat = t;
  }
}

}  // namespace rlforge::algos::pebble
