#include "rlforge/algos/ppo/ppo.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "rlforge/core/error.h"
#include "rlforge/core/thread_pool.h"
#include "rlforge/dist/comm.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)

// log softmax of one head's logits (n) into out (n); with a mask (n, 1 = allowed) the masked
// logits count as -inf, as MAPPO's logits[mask == 0] = -1e10
void LogSoftmax(const float* logits, int64_t n, const uint8_t* mask, double* out) {
  auto allowed = [mask](int64_t j) { return mask == nullptr || mask[j] != 0; };
  double max = -INFINITY;
  for (int64_t j = 0; j < n; ++j) max = allowed(j) ? std::max<double>(max, logits[j]) : max;
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += allowed(j) ? std::exp(logits[j] - max) : 0.0;
  const double log_sum = max + std::log(sum);
  for (int64_t j = 0; j < n; ++j) out[j] = allowed(j) ? logits[j] - log_sum : -INFINITY;
}

// Advantage normalization (A - mean) / (unbiased std + 1e-8) over `n` advantages adv(i).
template <class Adv>
void AdvantageStats(int64_t n, Adv adv, double* mean, double* scale) {
  *mean = 0.0, *scale = 1.0;
  if (n < 2) return;
  for (int64_t i = 0; i < n; ++i) *mean += adv(i) / static_cast<double>(n);
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += std::pow(adv(i) - *mean, 2) / static_cast<double>(n - 1);
  *scale = 1.0 / (std::sqrt(var) + 1e-8);
}

// The loss terms as 6 doubles, to move between processes, and back.
constexpr int kLossTerms = 6;
void PackLosses(const Ppo::Losses& l, double* out) {
  const double terms[kLossTerms] = {l.policy,        l.value,     l.entropy,
                                    l.old_approx_kl, l.approx_kl, l.clipfrac};
  std::copy_n(terms, kLossTerms, out);
}
void AddLosses(const double* in, Ppo::Losses* l) {
  l->policy += in[0], l->value += in[1], l->entropy += in[2];
  l->old_approx_kl += in[3], l->approx_kl += in[4], l->clipfrac += in[5];
}
// A shard's block of the gradient exchange: its gradient (P floats), then its loss sums as the
// bytes of kLossTerms doubles in kLossSlots floats, so one exchange carries both exactly.
constexpr int kLossSlots = 2 * kLossTerms;
void AddLosses(const float* slots, Ppo::Losses* l) {
  double in[kLossTerms];
  std::memcpy(in, slots, sizeof in);
  AddLosses(in, l);
}

// The value loss of one error e = V - R and its derivative: e^2 / 2, or with delta > 0 the Huber
// loss (torch's huber_loss: e^2 / 2 within delta, delta (|e| - delta / 2) beyond).
double ValueLoss(double e, double delta, double* d_e) {
  if (delta <= 0.0 || std::abs(e) <= delta) {
    *d_e = e;
    return 0.5 * e * e;
  }
  *d_e = e > 0 ? delta : -delta;
  return delta * (std::abs(e) - 0.5 * delta);
}

// p log p, 0 where p = 0
double PLogP(double log_p) { return std::isinf(log_p) ? 0.0 : std::exp(log_p) * log_p; }

}  // namespace

Ppo::Ppo(const PpoConfig& config, const Space& observation_space, const Space& action_space,
         uint64_t seed, int64_t critic_dim)
    : config_(config), action_space_(action_space), rng_(nn::StreamRng(seed, 0)) {
  if (observation_space.kind() != Space::Kind::kBox ||
      observation_space.dtype() != DType::kFloat32) {
    throw Error("ppo: expected a float32 Box observation space, got " +
                observation_space.ToString());
  }
  if (action_space.kind() == Space::Kind::kDiscrete ||
      action_space.kind() == Space::Kind::kMultiDiscrete) {
    discrete_ = true;
    act_dim_ = 0;
    for (const int64_t n : action_space.nvec()) act_dim_ += n;
    if (action_space.kind() == Space::Kind::kDiscrete) discrete_start_ = action_space.start();
  } else if (action_space.kind() == Space::Kind::kBox) {
    discrete_ = false;
    act_dim_ = action_space.num_continuous();
  } else {
    throw Error("ppo: action space " + action_space.ToString() +
                " is not supported (expected Discrete, MultiDiscrete or Box)");
  }
  obs_dim_ = observation_space.size();
  critic_dim_ = critic_dim > 0 ? critic_dim : obs_dim_;
  const nn::Activation activation = nn::ParseActivation(config.activation);
  std::vector<int64_t> sizes = {obs_dim_};
  sizes.insert(sizes.end(), config.hidden.begin(), config.hidden.end());
  sizes.push_back(act_dim_);
  actor_ = nn::DenseMlp(sizes, activation, 0, config.layer_norm);
  sizes.front() = critic_dim_;
  sizes.back() = 1;
  critic_ = nn::DenseMlp(sizes, activation, actor_.num_parameters(), config.layer_norm);
  log_std_ = actor_.num_parameters() + critic_.num_parameters();
  params_.assign(static_cast<size_t>(log_std_ + (discrete_ ? 0 : nn::PadTo8(act_dim_))), 0.0f);
  // CleanRL's layer_init: orthogonal, gain sqrt(2), the actor's head 0.01 and the critic's 1
  nn::InitOrthogonal(actor_, params_.data(), std::sqrt(2.0), 0.01, rng_);
  nn::InitOrthogonal(critic_, params_.data(), std::sqrt(2.0), 1.0, rng_);
  if (!discrete_) {
    std::fill_n(params_.begin() + log_std_, act_dim_, static_cast<float>(config.init_log_std));
  }
  adam_ = nn::FlatAdam(static_cast<int64_t>(params_.size()), 1e-5);
  // one lane per training thread, each with its own activations and gradient
  const int threads = nn::TrainingThreads();
  if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
  for (int k = 0; k < threads; ++k) {
    Lane& lane = lanes_.emplace_back();
    lane.actor = actor_, lane.critic = critic_;
    lane.grads.assign(params_.size(), 0.0f);
    for (auto* v : {&lane.dlogp, &lane.dentropy, &lane.dlogp_log_std}) v->resize(act_dim_);
    lane.log_pi.resize(static_cast<size_t>(act_dim_));
  }
}

nn::NamedTensors Ppo::AsTensors(const std::vector<float>& flat) const {
  nn::NamedTensors out;
  nn::ExportLayers(actor_, flat.data(), discrete_ ? "actor" : "actor_mean", &out);
  nn::ExportLayers(critic_, flat.data(), "critic", &out);
  if (!discrete_) {
    const float* log_std = flat.data() + log_std_;
    out.push_back({"actor_logstd", {1, act_dim_}, {log_std, log_std + act_dim_}});
  }
  return out;
}

nn::NamedTensors Ppo::parameters() const { return AsTensors(params_); }
nn::NamedTensors Ppo::gradients() const { return AsTensors(lanes_[0].grads); }

void Ppo::Value(const float* x, int64_t n, float* values) {
  const float* v = critic_.Forward(params_.data(), x, critic_dim_, n);
  for (int64_t i = 0; i < n; ++i) values[i] = v[i * critic_.out_stride()];
}

void Ppo::Act(const float* x, int64_t n, int64_t* discrete, float* continuous, float* log_probs,
              float* values, bool deterministic, const uint8_t* masks, std::span<Rng> streams) {
  const float* out = actor_.Forward(params_.data(), x, obs_dim_, n);
  if (values != nullptr && critic_dim_ == obs_dim_) Value(x, n, values);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = out + i * actor_.out_stride();
    Rng& rng = streams.empty() ? rng_ : streams[streams.size() == 1 ? 0 : i];
    double logp = 0.0;
    if (discrete_) {
      // one categorical head per discrete component (MultiDiscrete); log-probs add up
      const auto& nvec = action_space_.nvec();
      const auto heads = static_cast<int64_t>(nvec.size());
      for (int64_t h = 0, offset = 0; h < heads; offset += nvec[h++]) {
        double* lp = lanes_[0].log_pi.data();
        const uint8_t* mask = masks != nullptr ? masks + i * act_dim_ + offset : nullptr;
        LogSoftmax(row + offset, nvec[h], mask, lp);
        int64_t a = 0;
        if (deterministic) {
          for (int64_t j = 1; j < nvec[h]; ++j) a = lp[j] > lp[a] ? j : a;
        } else {  // inverse CDF of one uniform draw; masked actions have no mass
          double u = rng.Random(), cdf = std::exp(lp[0]);
          while (a + 1 < nvec[h] && u >= cdf) cdf += std::exp(lp[++a]);
          while (std::isinf(lp[a])) --a;  // rounding ran past the last allowed action
        }
        logp += lp[a];
        discrete[i * heads + h] = a + discrete_start_;
      }
    } else {
      const float* log_std = params_.data() + log_std_;
      for (int64_t j = 0; j < act_dim_; ++j) {
        const double z = deterministic ? 0.0 : rng.Normal(0.0, 1.0);
        continuous[i * act_dim_ + j] = static_cast<float>(row[j] + std::exp(log_std[j]) * z);
        logp += -0.5 * z * z - log_std[j] - 0.5 * kLog2Pi;
      }
    }
    if (log_probs != nullptr) log_probs[i] = static_cast<float>(logp);
  }
}

void Ppo::LogProb(Lane& lane, const float* out, const int64_t* discrete, const float* continuous,
                  const uint8_t* mask, double* logp, double* entropy) const {
  *logp = 0.0, *entropy = 0.0;
  float* dlogp = lane.dlogp.data();
  float* dentropy = lane.dentropy.data();
  if (discrete_) {
    // per head: d logp / d z = onehot(a) - p, d H / d z = -p (log p + H); masked logits have
    // p = 0 and no gradient
    double* lp = lane.log_pi.data();
    const auto& nvec = action_space_.nvec();
    for (size_t h = 0, offset = 0; h < nvec.size(); offset += nvec[h++]) {
      const int64_t n = nvec[h], a = discrete[h] - discrete_start_;
      LogSoftmax(out + offset, n, mask != nullptr ? mask + offset : nullptr, lp);
      double head_entropy = 0.0;
      for (int64_t j = 0; j < n; ++j) head_entropy -= PLogP(lp[j]);
      for (int64_t j = 0; j < n; ++j) {
        const double p = std::exp(lp[j]);
        dlogp[offset + j] = static_cast<float>((j == a ? 1.0 : 0.0) - p);
        dentropy[offset + j] = p == 0.0 ? 0.0f : static_cast<float>(-p * (lp[j] + head_entropy));
      }
      *logp += lp[a];
      *entropy += head_entropy;
    }
    return;
  }
  // Gaussian with state-independent log std: z = (a - mu) / sigma,
  // d logp / d mu = z / sigma, d logp / d log sigma = z^2 - 1, d H / d log sigma = 1
  const float* log_std = params_.data() + log_std_;
  for (int64_t j = 0; j < act_dim_; ++j) {
    const double sigma = std::exp(static_cast<double>(log_std[j]));
    const double z = (continuous[j] - out[j]) / sigma;
    *logp += -0.5 * z * z - log_std[j] - 0.5 * kLog2Pi;
    *entropy += 0.5 + 0.5 * kLog2Pi + log_std[j];
    dlogp[j] = static_cast<float>(z / sigma);
    dentropy[j] = 0.0f;
    lane.dlogp_log_std[j] = static_cast<float>(z * z - 1.0);
  }
}

Ppo::Losses Ppo::Gradient(const Minibatch& mb) {
  const int64_t B = mb.size;
  // advantages normalized over the whole minibatch: (A - mean) / (unbiased std + 1e-8)
  double adv_mean = 0.0, adv_scale = 1.0;
  if (config_.norm_adv) {
    AdvantageStats(
        B, [&](int64_t i) { return mb.advantages[i]; }, &adv_mean, &adv_scale);
  }
  // each lane takes a contiguous share of the rows; the sums are then taken in lane order
  const auto lanes = static_cast<int64_t>(lanes_.size());
  auto run = [&](int begin, int end) {
    for (int k = begin; k < end; ++k) {
      LaneGradient(lanes_[k], mb, B * k / lanes, B * (k + 1) / lanes, adv_mean, adv_scale,
                   lanes_[k].grads.data());
    }
  };
  if (pool_ != nullptr) {
    pool_->ParallelFor(static_cast<int>(lanes), run);
  } else {
    run(0, static_cast<int>(lanes));
  }
  Lane& first = lanes_[0];
  for (int64_t k = 1; k < lanes; ++k) {
    const Lane& lane = lanes_[k];
    for (size_t i = 0; i < first.grads.size(); ++i) first.grads[i] += lane.grads[i];
    double terms[kLossTerms];
    PackLosses(lane.losses, terms);
    AddLosses(terms, &first.losses);
  }
  return first.losses;
}

void Ppo::LaneGradient(Lane& lane, const Minibatch& mb, int64_t begin, int64_t end, double adv_mean,
                       double adv_scale, float* grads) {
  const PpoConfig& c = config_;
  const int64_t rows = end - begin;
  const float* obs = mb.obs + begin * obs_dim_;
  const float* out = lane.actor.Forward(params_.data(), obs, obs_dim_, rows);
  const float* critic_in = mb.critic_obs ? mb.critic_obs + begin * critic_dim_ : obs;
  const float* value = lane.critic.Forward(params_.data(), critic_in, critic_dim_, rows);
  const int64_t out_stride = lane.actor.out_stride(), value_stride = lane.critic.out_stride();
  const auto heads = static_cast<int64_t>(action_space_.nvec().size());
  lane.d_out.assign(static_cast<size_t>(rows * out_stride), 0.0f);
  lane.d_value.assign(static_cast<size_t>(rows * value_stride), 0.0f);
  std::fill_n(grads, params_.size(), 0.0f);
  float* d_log_std = grads + log_std_;
  const double inv_b = 1.0 / static_cast<double>(mb.total > 0 ? mb.total : mb.size);
  const double d_entropy = -c.ent_coef * inv_b;  // d loss / d entropy of one sample
  Losses& l = lane.losses;
  l = Losses{};
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = begin + r;  // row in the minibatch
    double logp = 0.0, entropy = 0.0;
    LogProb(lane, out + r * out_stride, mb.discrete + i * heads, mb.continuous + i * act_dim_,
            mb.masks != nullptr ? mb.masks + i * act_dim_ : nullptr, &logp, &entropy);
    const double adv = (mb.advantages[i] - adv_mean) * adv_scale;
    const double log_ratio = logp - mb.old_log_probs[i], ratio = std::exp(log_ratio);
    l.old_approx_kl += -log_ratio * inv_b;
    l.approx_kl += (ratio - 1.0 - log_ratio) * inv_b;
    l.clipfrac += (std::abs(ratio - 1.0) > c.clip_coef ? 1.0 : 0.0) * inv_b;
    double d_logp;  // d policy loss / d logp of this sample
    if (c.a2c) {    // -A logp
      l.policy += -adv * logp * inv_b;
      d_logp = -adv * inv_b;
    } else {  // max(-A r, -A clip(r)): no gradient where the clipped term wins and clips
      const double clipped = std::clamp(ratio, 1.0 - c.clip_coef, 1.0 + c.clip_coef);
      l.policy += std::max(-adv * ratio, -adv * clipped) * inv_b;
      d_logp = -adv * clipped > -adv * ratio && clipped != ratio ? 0.0 : -adv * ratio * inv_b;
    }
    l.entropy += entropy * inv_b;
    float* d = lane.d_out.data() + r * out_stride;
    for (int64_t j = 0; j < act_dim_; ++j) {
      d[j] = static_cast<float>(d_logp * lane.dlogp[j] + d_entropy * lane.dentropy[j]);
    }
    if (!discrete_) {
      for (int64_t j = 0; j < act_dim_; ++j) {
        d_log_std[j] += static_cast<float>(d_logp * lane.dlogp_log_std[j] + d_entropy);
      }
    }
    // value loss L(V - R), or with clip_vloss the larger of it and the clipped version's
    const double v = value[r * value_stride], ret = mb.returns[i], old = mb.old_values[i];
    double d_v;
    double v_loss = ValueLoss(v - ret, c.huber_delta, &d_v);
    if (c.clip_vloss && !c.a2c) {
      const double change = std::clamp(v - old, -c.clip_coef, c.clip_coef);
      double d_clipped;
      const double clipped_loss = ValueLoss(old + change - ret, c.huber_delta, &d_clipped);
      if (clipped_loss > v_loss) {
        v_loss = clipped_loss;
        d_v = change == v - old ? d_clipped : 0.0;
      }
    }
    l.value += v_loss * inv_b;
    lane.d_value[r * value_stride] = static_cast<float>(c.vf_coef * d_v * inv_b);
  }
  lane.actor.Backward(params_.data(), lane.d_out.data(), grads);
  lane.critic.Backward(params_.data(), lane.d_value.data(), grads);
}

std::map<std::string, double> Ppo::Update(int64_t batch, const Gather& gather,
                                          std::span<const float> values,
                                          std::span<const float> returns, double learning_rate) {
  const EpochStats stats = RunEpochs(
      batch, [&](std::span<const int64_t> rows) { return Gradient(gather(rows)); }, learning_rate);
  return Metrics(stats, values, returns, learning_rate);
}

Ppo::EpochStats Ppo::RunEpochs(int64_t batch, const MinibatchGradient& gradient,
                               double learning_rate) {
  const PpoConfig& c = config_;
  const int64_t minibatch = std::max<int64_t>(1, batch / c.num_minibatches);
  std::vector<float>& grads = lanes_[0].grads;  // the minibatch's gradient after `gradient`
  EpochStats s;
  perm_.resize(static_cast<size_t>(batch));
  for (int epoch = 0; epoch < c.update_epochs; ++epoch) {
    // a uniform permutation of the rows (Fisher-Yates)
    std::iota(perm_.begin(), perm_.end(), 0);
    for (int64_t i = batch - 1; i > 0; --i) std::swap(perm_[i], perm_[rng_.Integers(i + 1)]);
    for (int64_t start = 0; start + minibatch <= batch; start += minibatch) {
      s.last = gradient({perm_.data() + start, static_cast<size_t>(minibatch)});
      s.clipfrac += s.last.clipfrac;
      ++s.steps;
      s.grad_norm =
          nn::ClipGradNorm(grads.data(), static_cast<int64_t>(grads.size()), c.max_grad_norm);
      adam_.Step(params_.data(), grads.data(), learning_rate);
    }
    if (c.target_kl > 0.0 && s.last.approx_kl > c.target_kl) break;
  }
  return s;
}

std::map<std::string, double> Ppo::Update(buffers::RolloutBuffer& rollout, double learning_rate,
                                          const Shards& shards) {
  const int64_t T = rollout.num_steps(), E = shards.total, local = shards.local;
  const int64_t batch = T * E;
  // every env's advantages, values and returns, in the global row order t * E + g
  {
    std::vector<float> mine;
    for (const auto* v : {&rollout.advantages(), &rollout.values(), &rollout.returns()})
      mine.insert(mine.end(), v->begin(), v->end());
    std::vector<float> all(mine.size() * static_cast<size_t>(E / local));
    dist::Allgather(mine, all);
    rows_all_.resize(static_cast<size_t>(3 * batch));
    for (int64_t r = 0; r < E / local; ++r) {  // rank r's block: 3 x T x local
      for (int64_t part = 0; part < 3; ++part) {
        for (int64_t t = 0; t < T; ++t) {
          std::copy_n(all.data() + ((r * 3 + part) * T + t) * local, local,
                      rows_all_.data() + part * batch + t * E + r * local);
        }
      }
    }
  }
  const float* advantages = rows_all_.data();
  bounds_.resize(static_cast<size_t>(E + 1));
  buffers::Batch mb;
  const auto gradient = [&](std::span<const int64_t> rows) {
    // the minibatch's rows grouped by shard (env), each shard's in the drawn order
    std::fill(bounds_.begin(), bounds_.end(), 0);
    for (int64_t row : rows) ++bounds_[row % E + 1];
    std::partial_sum(bounds_.begin(), bounds_.end(), bounds_.begin());
    sorted_.resize(rows.size());
    cursor_.assign(bounds_.begin(), bounds_.end() - 1);
    for (int64_t row : rows) sorted_[cursor_[row % E]++] = row;
    double adv_mean = 0.0, adv_scale = 1.0;
    if (config_.norm_adv) {
      AdvantageStats(
          static_cast<int64_t>(sorted_.size()), [&](int64_t i) { return advantages[sorted_[i]]; },
          &adv_mean, &adv_scale);
    }
    // this process's shards, as rows of its own rollout (t * local + g - first)
    const int64_t begin = bounds_[shards.first], end = bounds_[shards.first + local];
    local_rows_.clear();
    for (int64_t i = begin; i < end; ++i)
      local_rows_.push_back(sorted_[i] / E * local + sorted_[i] % E - shards.first);
    rollout.Minibatch(local_rows_, &mb);
    Minibatch m{static_cast<int64_t>(local_rows_.size()),
                mb["obs"].as<float>(),
                mb["discrete_actions"].as<int64_t>(),
                mb["continuous_actions"].as<float>(),
                mb["log_probs"].as<float>(),
                mb["values"].as<float>(),
                mb["advantages"].as<float>(),
                mb["returns"].as<float>()};
    m.total = static_cast<int64_t>(rows.size());
    cursor_.resize(static_cast<size_t>(local + 1));  // now the local shards' bounds in m
    for (int64_t k = 0; k <= local; ++k) cursor_[k] = bounds_[shards.first + k] - begin;
    ShardGradients(m, cursor_, adv_mean, adv_scale);
    return CombineShards(E);
  };
  const EpochStats stats = RunEpochs(batch, gradient, learning_rate);
  return Metrics(stats, {rows_all_.data() + batch, static_cast<size_t>(batch)},
                 {rows_all_.data() + 2 * batch, static_cast<size_t>(batch)}, learning_rate);
}

void Ppo::ShardGradients(const Minibatch& mb, std::span<const int64_t> bounds, double adv_mean,
                         double adv_scale) {
  const auto local = static_cast<int64_t>(bounds.size()) - 1;
  const auto P = static_cast<int64_t>(params_.size()), S = P + kLossSlots;
  const auto lanes = static_cast<int64_t>(lanes_.size());
  shard_grads_.resize(static_cast<size_t>(local * S));
  // rows [begin, end) by `lane` into a shard block (an empty shard contributes zeros)
  auto rows_into = [&](Lane& lane, int64_t begin, int64_t end, float* block) {
    double losses[kLossTerms] = {};
    if (begin == end) {
      std::fill_n(block, P, 0.0f);
    } else {
      LaneGradient(lane, mb, begin, end, adv_mean, adv_scale, block);
      PackLosses(lane.losses, losses);
    }
    std::memcpy(block + P, losses, sizeof losses);
  };
  auto run = [&](const std::function<void(int)>& lane_work) {
    if (pool_ != nullptr) {
      pool_->ParallelFor(static_cast<int>(lanes), [&](int b, int e) {
        for (int k = b; k < e; ++k) lane_work(k);
      });
    } else {
      for (int k = 0; k < lanes; ++k) lane_work(k);
    }
  };
  if (local >= lanes) {  // whole shards per lane: the bits do not depend on the lane count
    run([&](int l) {
      for (int64_t k = l; k < local; k += lanes)
        rows_into(lanes_[l], bounds[k], bounds[k + 1], shard_grads_.data() + k * S);
    });
    return;
  }
  // fewer shards than lanes: each shard's rows split across the lanes, summed in lane order
  std::vector<float>& lane_blocks = all_grads_;  // scratch until CombineShards
  lane_blocks.resize(static_cast<size_t>(lanes * S));
  for (int64_t k = 0; k < local; ++k) {
    const int64_t n = bounds[k + 1] - bounds[k];
    run([&](int l) {
      rows_into(lanes_[l], bounds[k] + n * l / lanes, bounds[k] + n * (l + 1) / lanes,
                lane_blocks.data() + l * S);
    });
    float* block = shard_grads_.data() + k * S;
    Losses losses;
    AddLosses(lane_blocks.data() + P, &losses);
    std::copy_n(lane_blocks.data(), P, block);
    for (int64_t l = 1; l < lanes; ++l) {
      for (int64_t i = 0; i < P; ++i) block[i] += lane_blocks[l * S + i];
      AddLosses(lane_blocks.data() + l * S + P, &losses);
    }
    double terms[kLossTerms];
    PackLosses(losses, terms);
    std::memcpy(block + P, terms, sizeof terms);
  }
}

Ppo::Losses Ppo::CombineShards(int64_t total) {
  const auto P = static_cast<int64_t>(params_.size()), S = P + kLossSlots;
  const float* first = shard_grads_.data();  // one process holds every shard
  if (dist::Distributed()) {                 // one exchange: gradients and loss sums
    all_grads_.resize(static_cast<size_t>(total * S));
    dist::Allgather(shard_grads_, all_grads_);
    first = all_grads_.data();
  }
  // grads = ((b0 + b1) + b2) + ..., a cache-sized chunk of every block at a time
  float* grads = lanes_[0].grads.data();
  constexpr int64_t kChunk = 2048;
  for (int64_t c = 0; c < P; c += kChunk) {
    const int64_t n = std::min(kChunk, P - c);
    std::copy_n(first + c, n, grads + c);
    for (int64_t g = 1; g < total; ++g) {
      const float* block = first + g * S + c;
      for (int64_t i = 0; i < n; ++i) grads[c + i] += block[i];
    }
  }
  Losses losses;
  for (int64_t g = 0; g < total; ++g) AddLosses(first + g * S + P, &losses);
  return losses;
}

std::map<std::string, double> Ppo::Metrics(const EpochStats& s, std::span<const float> values,
                                           std::span<const float> returns,
                                           double learning_rate) const {
  const PpoConfig& c = config_;
  const auto batch = static_cast<int64_t>(values.size());
  const std::vector<float>& grads = lanes_[0].grads;
  // explained variance of the values against the returns
  double mean_r = 0, mean_d = 0;
  for (int64_t i = 0; i < batch; ++i) {
    mean_r += returns[i] / batch;
    mean_d += (returns[i] - values[i]) / batch;
  }
  double var_r = 0, var_d = 0;
  for (int64_t i = 0; i < batch; ++i) {
    var_r += (returns[i] - mean_r) * (returns[i] - mean_r) / batch;
    var_d += (returns[i] - values[i] - mean_d) * (returns[i] - values[i] - mean_d) / batch;
  }
  const Losses& last = s.last;
  std::map<std::string, double> m = {
      {"losses/value_loss", last.value},
      {"losses/policy_loss", last.policy},
      {"losses/entropy", last.entropy},
      {"losses/old_approx_kl", last.old_approx_kl},
      {"losses/approx_kl", last.approx_kl},
      {"losses/clipfrac", s.clipfrac / static_cast<double>(std::max<int64_t>(s.steps, 1))},
      {"losses/explained_variance", var_r == 0 ? NAN : 1 - var_d / var_r},
      {"losses/grad_norm", s.grad_norm},
      {"charts/learning_rate", learning_rate}};
  // the last minibatch step, per network of the one optimizer (the log std belongs to the actor)
  const double coef = nn::ClipCoef(s.grad_norm, c.max_grad_norm);
  const auto size = static_cast<int64_t>(params_.size()), actor = actor_.num_parameters();
  nn::AddHealth(m, "actor",
                adam_.Health(params_.data(), grads.data(), {{0, actor}, {log_std_, size}}, coef));
  nn::AddHealth(m, "critic", adam_.Health(params_.data(), grads.data(), {{actor, log_std_}}, coef));
  return m;
}

void Ppo::Save(io::TensorDict& out) const {
  nn::Put(out, parameters());
  nn::PutAdam(out, "optimizer", adam_);
  nn::PutRng(out, "rng.ppo", rng_);
}

void Ppo::Load(const io::TensorDict& in) {
  nn::ImportLayers(actor_, params_.data(), discrete_ ? "actor" : "actor_mean", in);
  nn::ImportLayers(critic_, params_.data(), "critic", in);
  if (!discrete_) {
    in.Read("actor_logstd", std::span<float>(params_.data() + log_std_, act_dim_), {1, act_dim_});
  }
  nn::GetAdam(in, "optimizer", adam_);
  nn::GetRng(in, "rng.ppo", rng_);
}

}  // namespace rlforge::algos
