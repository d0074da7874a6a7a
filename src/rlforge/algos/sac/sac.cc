#include "rlforge/algos/sac/sac.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"
#include "rlforge/nn/mlp.h"
#include "rlforge/nn/torch_random.h"

namespace rlforge::algos {
namespace {

constexpr double kLogStdMin = -5.0;
constexpr double kLogStdMax = 2.0;
constexpr double kLog2Pi = 1.8378770664093453;

// Linear layers with ReLU between (PyTorch's default initialization, as CleanRL), as torch
// modules: they draw the initial weights, which then move into the flat blocks.
torch::nn::Sequential Relu(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  torch::nn::Sequential net;
  int64_t width = in;
  for (const int64_t h : hidden) {
    net->push_back(torch::nn::Linear(width, h));
    net->push_back(torch::nn::ReLU());
    width = h;
  }
  if (out > 0) net->push_back(torch::nn::Linear(width, out));
  return net;
}

void ImportAll(const nn::DenseMlp& net, float* params, const torch::nn::Sequential& module) {
  const std::vector<torch::Tensor> p = module->parameters();
  for (size_t l = 0; l < net.layers().size(); ++l) {
    net.Import(params, l, p[2 * l].data_ptr<float>(), p[2 * l + 1].data_ptr<float>());
  }
}

std::vector<int64_t> Sizes(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  std::vector<int64_t> sizes = {in};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(out);
  return sizes;
}

}  // namespace

Sac::Sac(const SacConfig& config, const Space& observation_space, const Space& action_space,
         uint64_t seed)
    : config_(config), action_space_(action_space), rng_(seed) {
  if (action_space.kind() != Space::Kind::kBox) {
    throw Error("sac: needs a Box action space, got " + action_space.ToString() +
                " (use dqn or ppo)");
  }
  if (!action_space.is_bounded())
    throw Error("sac: the action space must be bounded, got " + action_space.ToString());
  act_dim_ = action_space.num_continuous();
  obs_dim_ = observation_space.size();
  const int64_t width = config.hidden.empty() ? obs_dim_ : config.hidden.back();
  // the actor's two heads (mean, log std) are one output layer of 2|A| rows
  actor_ = nn::DenseMlp(Sizes(obs_dim_, config.hidden, 2 * act_dim_), nn::Activation::kRelu, 0);
  actor_params_.assign(static_cast<size_t>(actor_.num_parameters()), 0.0f);
  {
    const torch::nn::Sequential trunk = Relu(obs_dim_, config.hidden, 0);
    const torch::nn::Linear mean(width, act_dim_), log_std(width, act_dim_);
    const std::vector<torch::Tensor> p = trunk->parameters();
    for (size_t l = 0; l + 1 < actor_.layers().size(); ++l) {
      actor_.Import(actor_params_.data(), l, p[2 * l].data_ptr<float>(),
                    p[2 * l + 1].data_ptr<float>());
    }
    const torch::Tensor w = torch::cat({mean->weight, log_std->weight}).contiguous();
    const torch::Tensor b = torch::cat({mean->bias, log_std->bias}).contiguous();
    actor_.Import(actor_params_.data(), actor_.layers().size() - 1, w.data_ptr<float>(),
                  b.data_ptr<float>());
  }
  actor_grads_.assign(actor_params_.size(), 0.0f);
  actor_adam_ = nn::FlatAdam(actor_.num_parameters(), 1e-8);
  const std::vector<int64_t> q_sizes = Sizes(obs_dim_ + act_dim_, config.hidden, 1);
  q1_ = nn::DenseMlp(q_sizes, nn::Activation::kRelu, 0);
  q2_ = nn::DenseMlp(q_sizes, nn::Activation::kRelu, q1_.num_parameters());
  InitCritic();
  for (int64_t i = 0; i < act_dim_; ++i) {
    scale_.push_back(static_cast<float>((action_space.high()[i] - action_space.low()[i]) / 2.0));
    bias_.push_back(static_cast<float>((action_space.high()[i] + action_space.low()[i]) / 2.0));
  }
  target_entropy_ = -static_cast<double>(act_dim_);
  log_alpha_ = {0.0f};
  alpha_adam_ = nn::FlatAdam(1, 1e-8);
  alpha_ = config.autotune ? 1.0 : config.alpha;
}

void Sac::InitCritic() {
  q_params_.assign(static_cast<size_t>(q1_.num_parameters() + q2_.num_parameters()), 0.0f);
  ImportAll(q1_, q_params_.data(), Relu(obs_dim_ + act_dim_, config_.hidden, 1));
  ImportAll(q2_, q_params_.data(), Relu(obs_dim_ + act_dim_, config_.hidden, 1));
  q_target_ = q_params_;
  q_grads_.assign(q_params_.size(), 0.0f);
  q_adam_ = nn::FlatAdam(static_cast<int64_t>(q_params_.size()), 1e-8);
}

void Sac::ResetCritic() { InitCritic(); }

std::vector<torch::Tensor> Sac::AsTensors(const std::vector<float>& actor,
                                          const std::vector<float>& q) const {
  std::vector<torch::Tensor> out;
  auto add = [&](const nn::DenseMlp& net, const float* params, size_t l, int64_t row,
                 int64_t rows) {
    const auto& L = net.layers()[l];
    torch::Tensor w = torch::empty({L.out, L.in}), b = torch::empty({L.out});
    net.Export(params, l, w.data_ptr<float>(), b.data_ptr<float>());
    out.push_back(w.narrow(0, row, rows).contiguous());
    out.push_back(b.narrow(0, row, rows).contiguous());
  };
  const size_t last = actor_.layers().size() - 1;
  for (size_t l = 0; l < last; ++l) add(actor_, actor.data(), l, 0, actor_.layers()[l].out);
  add(actor_, actor.data(), last, 0, act_dim_);         // mean head
  add(actor_, actor.data(), last, act_dim_, act_dim_);  // log std head
  for (const nn::DenseMlp* net : {&q1_, &q2_}) {
    for (size_t l = 0; l < net->layers().size(); ++l)
      add(*net, q.data(), l, 0, net->layers()[l].out);
  }
  return out;
}

std::vector<torch::Tensor> Sac::parameters() const {
  std::vector<torch::Tensor> p = AsTensors(actor_params_, q_params_);
  p.push_back(torch::tensor(log_alpha_));
  return p;
}

std::vector<torch::Tensor> Sac::gradients() const { return AsTensors(actor_grads_, q_grads_); }

void Sac::Sample(const float* out, int64_t n, bool deterministic, float* actions,
                 float* log_probs) {
  const int64_t A = act_dim_, stride = actor_.out_stride();
  for (auto* v : {&noise_, &std_, &y_, &t_}) v->resize(static_cast<size_t>(n * A));
  nn::TorchRandom random;
  for (int64_t i = 0; i < n; ++i) {
    double logp = 0.0;
    for (int64_t j = 0; j < A; ++j) {
      const size_t k = static_cast<size_t>(i * A + j);
      const double mean = out[i * stride + j];
      const double t = std::tanh(static_cast<double>(out[i * stride + A + j]));
      const double log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (t + 1.0);
      const double std = std::exp(log_std);
      const double eps = deterministic ? 0.0 : random.Normal();
      const double y = std::tanh(mean + std * eps);  // squashed sample
      actions[k] = static_cast<float>(y * scale_[j] + bias_[j]);
      // Normal log-density of the sample, minus the log-Jacobian of the squashing
      logp += -0.5 * eps * eps - log_std - 0.5 * kLog2Pi - std::log(scale_[j] * (1 - y * y) + 1e-6);
      noise_[k] = static_cast<float>(eps), std_[k] = static_cast<float>(std);
      y_[k] = static_cast<float>(y), t_[k] = static_cast<float>(t);
    }
    if (log_probs != nullptr) log_probs[i] = static_cast<float>(logp);
  }
}

void Sac::QInput(const float* obs, const float* actions, int64_t n) {
  const int64_t in = obs_dim_ + act_dim_;
  x_.resize(static_cast<size_t>(n * in));
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(x_.data() + i * in, obs + i * obs_dim_, sizeof(float) * obs_dim_);
    std::memcpy(x_.data() + i * in + obs_dim_, actions + i * act_dim_, sizeof(float) * act_dim_);
  }
}

void Sac::Act(const torch::Tensor& obs, int64_t*, float* continuous, bool deterministic) {
  const float* x = nn::ObservationRows(obs, obs_dim_, "sac");
  const int64_t n = obs.size(0);
  const float* out = actor_.Forward(actor_params_.data(), x, obs_dim_, n);
  Sample(out, n, deterministic, continuous, nullptr);
}

void Sac::SampleRandom(int64_t n, float* continuous) {
  for (int64_t i = 0; i < n; ++i) {
    action_space_.Sample(
        rng_, {}, std::span<float>(continuous + i * act_dim_, static_cast<size_t>(act_dim_)));
  }
}

void Sac::Collect(const torch::Tensor& obs, int64_t global_step, float* continuous) {
  if (global_step < config_.learning_starts) {
    SampleRandom(obs.size(0), continuous);
    return;
  }
  Act(obs, nullptr, continuous, false);
}

std::map<std::string, double> Sac::CriticGradient(buffers::Batch& batch) {
  const float* obs = batch["obs"].as<float>();
  const float* next_obs = batch["next_obs"].as<float>();
  const float* actions = batch["continuous_actions"].as<float>();
  const float* rewards = batch["rewards"].as<float>();
  const float* discounts = batch["discounts"].as<float>();
  const int64_t B = batch["obs"].shape[0], in = obs_dim_ + act_dim_;
  const int64_t q_stride = q1_.out_stride();
  pi_.resize(static_cast<size_t>(B * act_dim_));
  log_pi_.resize(static_cast<size_t>(B));
  // y = r + discount * (min target Q(s', a') - alpha log pi(a'|s')), a' ~ pi(s')
  Sample(actor_.Forward(actor_params_.data(), next_obs, obs_dim_, B), B, false, pi_.data(),
         log_pi_.data());
  QInput(next_obs, pi_.data(), B);
  const float* t1 = q1_.Forward(q_target_.data(), x_.data(), in, B);
  const float* t2 = q2_.Forward(q_target_.data(), x_.data(), in, B);
  target_.resize(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    const double min_q = std::min(t1[i * q_stride], t2[i * q_stride]);
    target_[i] = static_cast<float>(rewards[i] + discounts[i] * (min_q - alpha_ * log_pi_[i]));
  }
  // loss = mean (q1 - y)^2 + mean (q2 - y)^2
  QInput(obs, actions, B);
  const float* q1 = q1_.Forward(q_params_.data(), x_.data(), in, B);
  const float* q2 = q2_.Forward(q_params_.data(), x_.data(), in, B);
  dq1_.assign(static_cast<size_t>(B * q_stride), 0.0f);
  dq2_.assign(static_cast<size_t>(B * q_stride), 0.0f);
  double q1_loss = 0, q2_loss = 0, q1_mean = 0;
  for (int64_t i = 0; i < B; ++i) {
    const double e1 = q1[i * q_stride] - target_[i], e2 = q2[i * q_stride] - target_[i];
    q1_loss += e1 * e1 / B, q2_loss += e2 * e2 / B, q1_mean += q1[i * q_stride] / B;
    dq1_[i * q_stride] = static_cast<float>(2.0 * e1 / B);
    dq2_[i * q_stride] = static_cast<float>(2.0 * e2 / B);
  }
  std::fill(q_grads_.begin(), q_grads_.end(), 0.0f);
  q1_.Backward(q_params_.data(), dq1_.data(), q_grads_.data());
  q2_.Backward(q_params_.data(), dq2_.data(), q_grads_.data());
  return {{"losses/qf1_values", q1_mean},
          {"losses/qf1_loss", q1_loss},
          {"losses/qf2_loss", q2_loss},
          {"losses/qf_loss", (q1_loss + q2_loss) / 2.0}};
}

double Sac::ActorGradient(const float* obs, int64_t B) {
  const int64_t A = act_dim_, in = obs_dim_ + A, in_pad = nn::PadTo8(in);
  const int64_t q_stride = q1_.out_stride(), out_stride = actor_.out_stride();
  pi_.resize(static_cast<size_t>(B * A));
  log_pi_.resize(static_cast<size_t>(B));
  Sample(actor_.Forward(actor_params_.data(), obs, obs_dim_, B), B, false, pi_.data(),
         log_pi_.data());
  QInput(obs, pi_.data(), B);
  const float* q1 = q1_.Forward(q_params_.data(), x_.data(), in, B);
  const float* q2 = q2_.Forward(q_params_.data(), x_.data(), in, B);
  // loss = mean(alpha log pi - min(q1, q2)): the smaller Q takes the gradient (ties split it)
  dq1_.assign(static_cast<size_t>(B * q_stride), 0.0f);
  dq2_.assign(static_cast<size_t>(B * q_stride), 0.0f);
  double loss = 0.0;
  for (int64_t i = 0; i < B; ++i) {
    const float a = q1[i * q_stride], b = q2[i * q_stride];
    loss += (alpha_ * log_pi_[i] - std::min(a, b)) / B;
    dq1_[i * q_stride] = static_cast<float>((a < b ? -1.0 : a == b ? -0.5 : 0.0) / B);
    dq2_[i * q_stride] = static_cast<float>((b < a ? -1.0 : a == b ? -0.5 : 0.0) / B);
  }
  dx1_.resize(static_cast<size_t>(B * in_pad));
  dx2_.resize(static_cast<size_t>(B * in_pad));
  q1_.Backward(q_params_.data(), dq1_.data(), nullptr, dx1_.data());
  q2_.Backward(q_params_.data(), dq2_.data(), nullptr, dx2_.data());
  // back through a = tanh(x) scale + bias, x = mean + std eps, log std = squash(raw), and
  // log pi = sum(-eps^2/2 - log std - log(2 pi)/2 - log(scale (1 - y^2) + 1e-6))
  const double d_logp = alpha_ / B;
  d_out_.assign(static_cast<size_t>(B * out_stride), 0.0f);
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t j = 0; j < A; ++j) {
      const size_t k = static_cast<size_t>(i * A + j);
      const double y = y_[k], s = scale_[j],
                   d_pi = dx1_[i * in_pad + obs_dim_ + j] + dx2_[i * in_pad + obs_dim_ + j];
      const double d_jacobian = 2.0 * y * (1 - y * y) * s / (s * (1 - y * y) + 1e-6);
      const double d_x = d_pi * s * (1 - y * y) + d_logp * d_jacobian;
      const double d_log_std = -d_logp + d_x * std_[k] * noise_[k];
      d_out_[i * out_stride + j] = static_cast<float>(d_x);
      d_out_[i * out_stride + A + j] =
          static_cast<float>(d_log_std * 0.5 * (kLogStdMax - kLogStdMin) * (1 - t_[k] * t_[k]));
    }
  }
  std::fill(actor_grads_.begin(), actor_grads_.end(), 0.0f);
  actor_.Backward(actor_params_.data(), d_out_.data(), actor_grads_.data());
  return loss;
}

std::map<std::string, double> Sac::Update(buffers::Batch& batch, int64_t global_step) {
  std::map<std::string, double> m = CriticGradient(batch);
  q_adam_.Step(q_params_.data(), q_grads_.data(), config_.q_lr);
  // delayed policy updates, compensated by doing policy_frequency of them at once
  if (global_step % config_.policy_frequency == 0) {
    const float* obs = batch["obs"].as<float>();
    const int64_t B = batch["obs"].shape[0];
    for (int k = 0; k < config_.policy_frequency; ++k) {
      m["losses/actor_loss"] = ActorGradient(obs, B);
      actor_adam_.Step(actor_params_.data(), actor_grads_.data(), config_.policy_lr);
      if (config_.autotune) {  // alpha loss = mean(-alpha (log pi + target entropy)), fresh pi
        Sample(actor_.Forward(actor_params_.data(), obs, obs_dim_, B), B, false, pi_.data(),
               log_pi_.data());
        double mean = 0.0;
        for (int64_t i = 0; i < B; ++i) mean += (log_pi_[i] + target_entropy_) / B;
        const float grad = static_cast<float>(-std::exp(log_alpha_[0]) * mean);
        m["losses/alpha_loss"] = grad;
        alpha_adam_.Step(log_alpha_.data(), &grad, config_.q_lr);
        alpha_ = std::exp(static_cast<double>(log_alpha_[0]));
      }
    }
  }
  if (global_step % config_.target_network_frequency == 0) {
    const auto tau = static_cast<float>(config_.tau);
    for (size_t i = 0; i < q_target_.size(); ++i) {
      q_target_[i] = q_target_[i] * (1.0f - tau) + q_params_[i] * tau;
    }
  }
  m["losses/alpha"] = alpha_;
  return m;
}

void Sac::Save(torch::serialize::OutputArchive& archive) const {
  nn::WriteFloats(archive, "actor", actor_params_);
  nn::WriteFloats(archive, "q", q_params_);
  nn::WriteFloats(archive, "q_target", q_target_);
  nn::SaveAdam(archive, "actor_opt", actor_adam_);
  nn::SaveAdam(archive, "q_opt", q_adam_);
  nn::SaveAdam(archive, "alpha_opt", alpha_adam_);
  nn::WriteFloats(archive, "log_alpha", log_alpha_);
  nn::WriteText(archive, "sac_rng", rng_.Serialize());
}

void Sac::Load(torch::serialize::InputArchive& archive) {
  nn::ReadFloats(archive, "", "actor", actor_params_);
  nn::ReadFloats(archive, "", "q", q_params_);
  nn::ReadFloats(archive, "", "q_target", q_target_);
  nn::LoadAdam(archive, "actor_opt", actor_adam_);
  nn::LoadAdam(archive, "q_opt", q_adam_);
  nn::LoadAdam(archive, "alpha_opt", alpha_adam_);
  nn::ReadFloats(archive, "", "log_alpha", log_alpha_);
  alpha_ = config_.autotune ? std::exp(static_cast<double>(log_alpha_[0])) : config_.alpha;
  rng_.Deserialize(nn::ReadText(archive, "sac_rng"));
}

}  // namespace rlforge::algos
