#include "rlforge/algos/dqn/dqn.h"

#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"
#include "rlforge/dist/comm.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::algos {

Dqn::Dqn(const DqnConfig& config, const Space& observation_space, const Space& action_space,
         uint64_t seed)
    : config_(config), action_space_(action_space), rng_(seed) {
  if (action_space.kind() != Space::Kind::kDiscrete) {
    throw Error("dqn: needs a Discrete action space, got " + action_space.ToString() +
                " (use sac or ppo)");
  }
  if (observation_space.kind() != Space::Kind::kBox ||
      observation_space.dtype() != DType::kFloat32) {
    throw Error("dqn: expected a float32 Box observation space, got " +
                observation_space.ToString());
  }
  obs_dim_ = observation_space.size();
  std::vector<int64_t> sizes = {obs_dim_};
  sizes.insert(sizes.end(), config.hidden.begin(), config.hidden.end());
  sizes.push_back(action_space.n());
  q_ = nn::DenseMlp(sizes, nn::Activation::kRelu, 0);
  params_.assign(static_cast<size_t>(q_.num_parameters()), 0.0f);
  // orthogonal initialization with gain sqrt(2) (CleanRL's layer_init), from its own generator
  Rng init = nn::StreamRng(seed, 0);
  nn::InitOrthogonal(q_, params_.data(), std::sqrt(2.0), std::sqrt(2.0), init);
  target_ = params_;
  lanes_ = nn::Lanes<Lane>(nn::TrainingThreads());
  for (Lane& lane : lanes_) {
    lane.q = nn::DenseMlp(sizes, nn::Activation::kRelu, 0);
    lane.grads.assign(params_.size(), 0.0f);
  }
  adam_ = nn::FlatAdam(q_.num_parameters(), 1e-8);
}

nn::NamedTensors Dqn::parameters() const {
  nn::NamedTensors out;
  nn::ExportLayers(q_, params_.data(), "q", &out);
  return out;
}

nn::NamedTensors Dqn::gradients() const {
  nn::NamedTensors out;
  nn::ExportLayers(q_, lanes_[0].grads.data(), "q", &out);
  return out;
}

void Dqn::Act(const float* x, int64_t n, int64_t* discrete) {
  const int64_t actions = action_space_.n(), stride = q_.out_stride();
  const float* q = q_.Forward(params_.data(), x, obs_dim_, n);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = q + i * stride;
    int64_t best = 0;
    for (int64_t a = 1; a < actions; ++a) best = row[a] > row[best] ? a : best;
    discrete[i] = best + action_space_.start();
  }
}

double Dqn::QValue(const float* obs, int64_t action) {
  return q_.Forward(params_.data(), obs, obs_dim_, 1)[action - action_space_.start()];
}

void Dqn::Explore(const float* obs, int64_t n, double epsilon, int64_t* discrete,
                  std::span<Rng> streams) {
  Act(obs, n, discrete);
  for (int64_t i = 0; i < n; ++i) {
    Rng& rng = streams.empty() ? rng_ : streams[i];
    if (rng.Random() < epsilon)
      discrete[i] = action_space_.start() + rng.Integers(action_space_.n());
  }
}

std::map<std::string, double> Dqn::Update(buffers::Batch& batch) {
  const TdBatch td{batch["obs"].as<float>(),
                   batch["next_obs"].as<float>(),
                   batch["rewards"].as<float>(),
                   batch["discounts"].as<float>(),
                   batch["discrete_actions"].as<int64_t>(),
                   batch["obs"].shape[0]};
  lanes_.ForRows(td.B,
                 [&](Lane& lane, int64_t begin, int64_t end) { LossRows(lane, td, begin, end); });
  std::vector<float>& grads = lanes_.Sum(&Lane::grads);
  double loss = 0.0, q_mean = 0.0;
  for (const Lane& lane : lanes_) loss += lane.loss, q_mean += lane.q_mean;
  dist::AverageInRankOrder(grads);
  if (config_.max_grad_norm > 0) {
    const double norm =
        nn::ClipGradNorm(grads.data(), static_cast<int64_t>(grads.size()), config_.max_grad_norm);
    clip_coef_ = nn::ClipCoef(norm, config_.max_grad_norm);
  }
  adam_.Step(params_.data(), grads.data(), config_.learning_rate);
  return {{"losses/td_loss", loss}, {"losses/q_values", q_mean}};
}

void Dqn::LossRows(Lane& lane, const TdBatch& td, int64_t begin, int64_t end) {
  const int64_t rows = end - begin, n = action_space_.n(), stride = lane.q.out_stride();
  const float* obs = td.obs + begin * obs_dim_;
  const float* next_obs = td.next_obs + begin * obs_dim_;
  auto argmax = [n](const float* row) {
    int64_t best = 0;
    for (int64_t a = 1; a < n; ++a) best = row[a] > row[best] ? a : best;
    return best;
  };
  // y = r + discount * max_a target Q(s', a) (Double DQN: the online net picks a); discount is
  // gamma^n, 0 after a terminal
  const float* target_q = lane.q.Forward(target_.data(), next_obs, obs_dim_, rows);
  lane.next_q.assign(target_q, target_q + rows * stride);
  const float* online_next = config_.double_dqn
                                 ? lane.q.Forward(params_.data(), next_obs, obs_dim_, rows)
                                 : lane.next_q.data();
  lane.y.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float next_value = lane.next_q[r * stride + argmax(online_next + r * stride)];
    lane.y[r] = td.rewards[begin + r] + td.discounts[begin + r] * next_value;
  }
  // loss = mean over the batch of (q - y)^2, or of Huber(q - y) (smooth L1, beta 1)
  const float* q = lane.q.Forward(params_.data(), obs, obs_dim_, rows);
  lane.d_q.assign(static_cast<size_t>(rows * stride), 0.0f);
  const auto B = static_cast<double>(td.B);
  lane.loss = 0.0, lane.q_mean = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = begin + r, k = r * stride + td.actions[i] - action_space_.start();
    const double e = q[k] - lane.y[r];
    lane.q_mean += q[k] / B;
    double d = 2.0 * e;
    if (!config_.huber) {
      lane.loss += e * e / B;
    } else if (std::abs(e) < 1.0) {
      lane.loss += 0.5 * e * e / B, d = e;
    } else {
      lane.loss += (std::abs(e) - 0.5) / B, d = e > 0 ? 1.0 : -1.0;
    }
    lane.d_q[k] = static_cast<float>(d / B);
  }
  std::fill(lane.grads.begin(), lane.grads.end(), 0.0f);
  lane.q.Backward(params_.data(), lane.d_q.data(), lane.grads.data());
}

std::map<std::string, double> Dqn::Health() const {
  std::map<std::string, double> m;
  nn::AddHealth(m, "q_network",
                adam_.Health(params_.data(), lanes_[0].grads.data(),
                             {{0, static_cast<int64_t>(params_.size())}}, clip_coef_));
  return m;
}

void Dqn::UpdateTarget() {  // target <- tau * online + (1 - tau) * target
  const auto tau = static_cast<float>(config_.tau);
  for (size_t i = 0; i < target_.size(); ++i) {
    target_[i] = target_[i] * (1.0f - tau) + params_[i] * tau;
  }
}

void Dqn::Save(io::TensorDict& out) const {
  nn::Put(out, parameters());
  nn::NamedTensors target;
  nn::ExportLayers(q_, target_.data(), "q_target", &target);
  nn::Put(out, target);
  nn::PutAdam(out, "optimizer", adam_);
  nn::PutRng(out, "rng.dqn", rng_);
}

void Dqn::Load(const io::TensorDict& in) {
  nn::ImportLayers(q_, params_.data(), "q", in);
  nn::ImportLayers(q_, target_.data(), "q_target", in);
  nn::GetAdam(in, "optimizer", adam_);
  nn::GetRng(in, "rng.dqn", rng_);
}

}  // namespace rlforge::algos
