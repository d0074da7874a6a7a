#include "rlforge/algos/pebble/reward_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rlforge/core/error.h"

namespace rlforge::algos::pebble {
namespace {

constexpr int64_t kChunkPairs = 64;  // pairs per forward pass outside training (bounds memory)

// Fisher-Yates over 0..n-1 with the run's RNG.
std::vector<int64_t> Shuffled(int64_t n, Rng& rng) {
  std::vector<int64_t> o(static_cast<size_t>(n));
  std::iota(o.begin(), o.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(o[i], o[rng.Integers(i + 1)]);
  return o;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> r(static_cast<size_t>(std::max<int64_t>(0, to - from)));
  std::iota(r.begin(), r.end(), from);
  return r;
}

}  // namespace

PairBatch::PairBatch(int64_t size_, int64_t length_, int64_t obs_dim_, int64_t act_dim_)
    : size(size_), length(length_), obs_dim(obs_dim_), act_dim(act_dim_) {
  for (int s = 0; s < 2; ++s) {
    obs[s].assign(static_cast<size_t>(size * length * obs_dim), 0.0f);
    act[s].assign(static_cast<size_t>(size * length * act_dim), 0.0f);
  }
  labels.assign(static_cast<size_t>(size), 0.5f);
}

void PairBatch::Append(const PairBatch& more, int64_t capacity) {
  if (size == 0) *this = PairBatch(0, more.length, more.obs_dim, more.act_dim);
  const int64_t drop = std::max<int64_t>(0, size + more.size - capacity);
  const auto join = [&](std::vector<float>& v, const std::vector<float>& add, int64_t per_pair) {
    v.insert(v.end(), add.begin(), add.end());
    v.erase(v.begin(), v.begin() + drop * per_pair);
  };
  for (int s = 0; s < 2; ++s) {
    join(obs[s], more.obs[s], length * obs_dim);
    join(act[s], more.act[s], length * act_dim);
  }
  join(labels, more.labels, 1);
  size += more.size - drop;
}

std::pair<double, double> BradleyTerry(double return0, double return1, double y) {
  const double m = std::max(return0, return1);
  const double lse = m + std::log(std::exp(return0 - m) + std::exp(return1 - m));
  const double log_p0 = return0 - lse, log_p1 = return1 - lse;
  return {-((1 - y) * log_p0 + y * log_p1), std::exp(log_p1)};
}

std::vector<int64_t> CropBounds(int64_t B, int64_t H, int crop, Rng& rng) {
  std::vector<int64_t> bounds(static_cast<size_t>(4 * B));  // begin0, end0, begin1, end1
  const int64_t shortest = std::max<int64_t>(1, H - crop);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = crop == 0 ? H : shortest + rng.Integers(H - shortest + 1);
    for (int side = 0; side < 2; ++side) {
      const int64_t begin = crop == 0 ? 0 : rng.Integers(H - length + 1);
      bounds[4 * b + 2 * side] = begin;
      bounds[4 * b + 2 * side + 1] = begin + length;
    }
  }
  return bounds;
}

RewardModel::RewardModel(int64_t obs_dim, int64_t act_dim, const RewardModelConfig& config,
                         uint64_t seed)
    : config_(config),
      obs_dim_(obs_dim),
      act_dim_(act_dim),
      in_(obs_dim + (config.actions ? act_dim : 0)),
      input_mean_(static_cast<size_t>(in_), 0.0f),
      input_std_(static_cast<size_t>(in_), 1.0f),
      l2_(config.l2) {
  std::vector<int64_t> sizes = {in_};
  sizes.insert(sizes.end(), config.hidden.begin(), config.hidden.end());
  sizes.push_back(1);
  int64_t offset = 0;
  for (int m = 0; m < config.ensemble_size; ++m) {
    members_.emplace_back(sizes, nn::Activation::kLeakyRelu, offset);
    offset += members_.back().num_parameters();
  }
  params_.assign(static_cast<size_t>(offset), 0.0f);
  grads_.assign(params_.size(), 0.0f);
  Rng init = nn::StreamRng(seed, 2);  // PyTorch's nn.Linear default, as BPref's members
  for (const nn::DenseMlp& net : members_) nn::InitLinearDefault(net, params_.data(), init);
  adam_ = nn::FlatAdam(offset, 1e-8);
}

void RewardModel::AppendInputs(const PairBatch& p, int side, std::span<const int64_t> idx,
                               std::vector<float>* x) const {
  for (const int64_t pair : idx) {
    const float* obs = p.Obs(side, pair);
    const float* act = p.Act(side, pair);
    for (int64_t t = 0; t < p.length; ++t) {
      x->insert(x->end(), obs + t * obs_dim_, obs + (t + 1) * obs_dim_);
      if (config_.actions) x->insert(x->end(), act + t * act_dim_, act + (t + 1) * act_dim_);
      if (!config_.normalize_inputs) continue;
      float* row = x->data() + x->size() - in_;
      for (int64_t j = 0; j < in_; ++j) row[j] = (row[j] - input_mean_[j]) / input_std_[j];
    }
  }
}

const float* RewardModel::MemberForward(int m, const float* x, int64_t rows) {
  nn::DenseMlp& net = members_[m];
  const float* y = net.Forward(params_.data(), x, in_, rows);
  r_.resize(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const float v = y[i * net.out_stride()];
    r_[i] = config_.output == "tanh" ? std::tanh(v) : v;
  }
  return r_.data();
}

void RewardModel::Reward(const float* obs, const float* act, int64_t n, float* rewards) {
  x_.clear();
  for (int64_t i = 0; i < n; ++i) {
    x_.insert(x_.end(), obs + i * obs_dim_, obs + (i + 1) * obs_dim_);
    if (config_.actions) x_.insert(x_.end(), act + i * act_dim_, act + (i + 1) * act_dim_);
    if (!config_.normalize_inputs) continue;
    float* row = x_.data() + x_.size() - in_;
    for (int64_t j = 0; j < in_; ++j) row[j] = (row[j] - input_mean_[j]) / input_std_[j];
  }
  std::fill_n(rewards, n, 0.0f);
  for (int m = 0; m < ensemble_size(); ++m) {
    const float* r = MemberForward(m, x_.data(), n);
    for (int64_t i = 0; i < n; ++i) rewards[i] += r[i];
  }
  for (int64_t i = 0; i < n; ++i) rewards[i] /= static_cast<float>(ensemble_size());
}

std::vector<double> RewardModel::PreferOne(const PairBatch& pairs) {
  std::vector<double> out(static_cast<size_t>(ensemble_size() * pairs.size));
  const int64_t H = pairs.length;
  for (int64_t first = 0; first < pairs.size; first += kChunkPairs) {
    const std::vector<int64_t> idx = Range(first, std::min(pairs.size, first + kChunkPairs));
    const auto B = static_cast<int64_t>(idx.size());
    x_.clear();
    AppendInputs(pairs, 0, idx, &x_);
    AppendInputs(pairs, 1, idx, &x_);
    for (int m = 0; m < ensemble_size(); ++m) {
      const float* r = MemberForward(m, x_.data(), 2 * B * H);
      for (int64_t b = 0; b < B; ++b) {
        double ret[2] = {0, 0};
        for (int s = 0; s < 2; ++s) {
          for (int64_t t = 0; t < H; ++t) ret[s] += r[(s * B + b) * H + t];
        }
        out[m * pairs.size + first + b] = BradleyTerry(ret[0], ret[1], 1.0).second;
      }
    }
  }
  return out;
}

void RewardModel::ZeroGradients() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

double RewardModel::MemberGradient(int m, const PairBatch& pairs, std::span<const int64_t> idx,
                                   const PairBatch& unlabeled, std::span<const int64_t> u_idx,
                                   Rng& rng, double* correct, double* confident) {
  const SurfConfig& surf = config_.surf;
  const int crop = surf.enabled ? surf.crop : 0;
  const int64_t H = pairs.length, B = static_cast<int64_t>(idx.size());
  const int64_t U = surf.enabled ? static_cast<int64_t>(u_idx.size()) : 0;
  const std::vector<int64_t> bounds = CropBounds(B, H, crop, rng);
  const std::vector<int64_t> u_bounds = CropBounds(U, H, crop, rng);
  // rows: labelled side 0, side 1, then unlabeled side 0, side 1; H steps per segment
  x_.clear();
  AppendInputs(pairs, 0, idx, &x_);
  AppendInputs(pairs, 1, idx, &x_);
  if (U > 0) {
    AppendInputs(unlabeled, 0, u_idx.first(U), &x_);
    AppendInputs(unlabeled, 1, u_idx.first(U), &x_);
  }
  const int64_t rows = 2 * (B + U) * H;
  const float* r = MemberForward(m, x_.data(), rows);
  dr_.assign(static_cast<size_t>(rows), 0.0f);
  // one pair: the cropped returns, and d loss / d return1 = weight (p1 - y) spread over its steps
  const auto pair_loss = [&](int64_t row0, int64_t row1, const int64_t* bound, double y,
                             double weight) {
    double ret[2] = {0, 0};
    for (int s = 0; s < 2; ++s) {
      const int64_t row = s == 0 ? row0 : row1;
      for (int64_t t = bound[2 * s]; t < bound[2 * s + 1]; ++t) ret[s] += r[row + t];
    }
    const auto [loss, p1] = BradleyTerry(ret[0], ret[1], y);
    const double g = weight * (p1 - y);
    for (int s = 0; s < 2; ++s) {
      const int64_t row = s == 0 ? row0 : row1;
      for (int64_t t = bound[2 * s]; t < bound[2 * s + 1]; ++t)
        dr_[row + t] = static_cast<float>(s == 0 ? -g : g);
    }
    return std::pair{weight * loss, ret[1] > ret[0]};
  };
  double loss = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    const double y = pairs.labels[idx[b]];
    const auto [l, prefers_one] = pair_loss(b * H, (B + b) * H, &bounds[4 * b], y, 1.0 / B);
    loss += l;
    if (y != 0.5) *correct += prefers_one == (y == 1.0);
  }
  // SURF: pseudo-labels from the member's own prediction on the whole segments, where it is sure
  for (int64_t u = 0; u < U; ++u) {
    const int64_t row0 = (2 * B + u) * H, row1 = (2 * B + U + u) * H;
    double whole[2] = {0, 0};
    for (int64_t t = 0; t < H; ++t) whole[0] += r[row0 + t], whole[1] += r[row1 + t];
    const double p1 = BradleyTerry(whole[0], whole[1], 1.0).second;
    if (std::max(p1, 1 - p1) < surf.threshold) continue;
    *confident += 1;
    loss += pair_loss(row0, row1, &u_bounds[4 * u], p1 > 0.5 ? 1.0 : 0.0,
                      surf.loss_weight / static_cast<double>(U))
                .first;
  }
  // back through the output activation and the net
  nn::DenseMlp& net = members_[m];
  const int64_t stride = net.out_stride();
  dy_.assign(static_cast<size_t>(rows * stride), 0.0f);
  for (int64_t i = 0; i < rows; ++i)
    dy_[i * stride] = config_.output == "tanh" ? dr_[i] * (1.0f - r[i] * r[i]) : dr_[i];
  net.Backward(params_.data(), dy_.data(), grads_.data());
  return loss;
}

double RewardModel::MeanLoss(const PairBatch& pairs, std::span<const int64_t> idx) {
  const int64_t H = pairs.length;
  double total = 0.0;
  for (int m = 0; m < ensemble_size(); ++m) {
    double sum = 0.0;
    for (size_t first = 0; first < idx.size(); first += kChunkPairs) {
      const auto chunk = idx.subspan(first, std::min<size_t>(kChunkPairs, idx.size() - first));
      const auto B = static_cast<int64_t>(chunk.size());
      x_.clear();
      AppendInputs(pairs, 0, chunk, &x_);
      AppendInputs(pairs, 1, chunk, &x_);
      const float* r = MemberForward(m, x_.data(), 2 * B * H);
      for (int64_t b = 0; b < B; ++b) {
        double ret[2] = {0, 0};
        for (int s = 0; s < 2; ++s) {
          for (int64_t t = 0; t < H; ++t) ret[s] += r[(s * B + b) * H + t];
        }
        sum += BradleyTerry(ret[0], ret[1], pairs.labels[chunk[b]]).first;
      }
    }
    total += sum / static_cast<double>(idx.size());
  }
  return total / ensemble_size();
}

void RewardModel::SetInputStatistics(const PairBatch& pairs) {
  if (!config_.normalize_inputs) return;
  std::vector<double> sum(static_cast<size_t>(in_), 0.0), sum_sq(sum.size(), 0.0);
  double count = 0;
  for (int s = 0; s < 2; ++s) {
    for (int64_t p = 0; p < pairs.size; ++p) {
      for (int64_t t = 0; t < pairs.length; ++t, ++count) {
        const float* obs = pairs.Obs(s, p) + t * obs_dim_;
        const float* act = pairs.Act(s, p) + t * act_dim_;
        for (int64_t j = 0; j < in_; ++j) {
          const double v = j < obs_dim_ ? obs[j] : act[j - obs_dim_];
          sum[j] += v;
          sum_sq[j] += v * v;
        }
      }
    }
  }
  for (int64_t j = 0; j < in_; ++j) {
    const double mean = sum[j] / count;
    const double var = std::max(0.0, sum_sq[j] / count - mean * mean);
    input_mean_[j] = static_cast<float>(mean);
    input_std_[j] = static_cast<float>(std::max(std::sqrt(var), 1e-3));  // a constant stays finite
  }
}

RewardModel::TrainStats RewardModel::Train(const PairBatch& pairs, const PairBatch& unlabeled,
                                           Rng& rng) {
  const int64_t total = pairs.size;
  if (total == 0) throw Error("pebble: no labelled pairs to train the reward model on");
  SetInputStatistics(pairs);
  // adaptive L2 holds out the newest pairs (the last rows) for a validation loss
  const int64_t held_out =
      config_.adaptive_l2 && total >= 2
          ? std::clamp<int64_t>(std::llround(config_.validation_fraction * total), 1, total - 1)
          : 0;
  const int64_t n = total - held_out;
  const double n_strict = std::max<double>(
      1.0, static_cast<double>(std::count_if(pairs.labels.begin(), pairs.labels.begin() + n,
                                             [](float y) { return y != 0.5f; })));
  const int64_t n_unlabeled = config_.surf.enabled ? unlabeled.size : 0;
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
      ZeroGradients();
      for (int m = 0; m < ensemble_size(); ++m) {
        std::span<const int64_t> u_idx;
        if (u_batch > 0) {
          if (u_next[m] + u_batch > n_unlabeled) {
            u_order[m] = Shuffled(n_unlabeled, rng);
            u_next[m] = 0;
          }
          u_idx = std::span<const int64_t>(u_order[m]).subspan(u_next[m], u_batch);
          u_next[m] += u_batch;
          seen_unlabeled += static_cast<double>(u_batch);
        }
        const std::span<const int64_t> idx(order[m].data() + start, end - start);
        // the members' losses summed, one optimizer step
        loss_sum[m] +=
            MemberGradient(m, pairs, idx, unlabeled, u_idx, rng, &correct[m], &confident) *
            static_cast<double>(end - start);
      }
      if (l2_ > 0) {  // torch.optim.Adam's weight_decay: an L2 term in the gradient
        for (size_t i = 0; i < grads_.size(); ++i)
          grads_[i] += static_cast<float>(l2_) * params_[i];
      }
      adam_.Step(params_.data(), grads_.data(), config_.lr);
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
  stats.health =
      adam_.Health(params_.data(), grads_.data(), {{0, static_cast<int64_t>(params_.size())}});
  if (seen_unlabeled > 0) stats.pseudo_labelled = confident / seen_unlabeled;
  if (held_out > 0) {  // RLHF-Gym: more decay when it overfits, less when it does not
    stats.train_loss = MeanLoss(pairs, Range(0, n));
    stats.validation_loss = MeanLoss(pairs, Range(n, total));
    const double ratio = stats.validation_loss / std::max(stats.train_loss, 1e-12);
    if (ratio < 1.1) l2_ *= 0.95;
    if (ratio > 1.5) l2_ *= 1.05;
  }
  stats.l2 = l2_;
  return stats;
}

nn::NamedTensors RewardModel::parameters() const {
  nn::NamedTensors out;
  for (int m = 0; m < ensemble_size(); ++m)
    nn::ExportLayers(members_[m], params_.data(), "reward_model." + std::to_string(m), &out);
  return out;
}

nn::NamedTensors RewardModel::gradients() const {
  nn::NamedTensors out;
  for (int m = 0; m < ensemble_size(); ++m)
    nn::ExportLayers(members_[m], grads_.data(), "reward_model." + std::to_string(m), &out);
  return out;
}

void RewardModel::Save(io::TensorDict& out) const {
  nn::Put(out, parameters());
  nn::PutAdam(out, "optimizer.reward_model", adam_);
  out.Put("reward_model.l2", std::vector<double>{l2_}, {});
  out.Put("reward_model.input_mean", input_mean_);
  out.Put("reward_model.input_std", input_std_);
}

void RewardModel::Load(const io::TensorDict& in) {
  for (int m = 0; m < ensemble_size(); ++m)
    nn::ImportLayers(members_[m], params_.data(), "reward_model." + std::to_string(m), in);
  nn::GetAdam(in, "optimizer.reward_model", adam_);
  l2_ = in.Scalar<double>("reward_model.l2");
  in.Read("reward_model.input_mean", input_mean_, {in_});
  in.Read("reward_model.input_std", input_std_, {in_});
}

}  // namespace rlforge::algos::pebble
