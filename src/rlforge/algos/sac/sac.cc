#include "rlforge/algos/sac/sac.h"

#include <c10/core/InferenceMode.h>

#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"

namespace rlforge::algos {
namespace {

constexpr double kLogStdMin = -5.0;
constexpr double kLogStdMax = 2.0;
constexpr double kLog2Pi = 1.8378770664093453;

// Linear layers with ReLU between (PyTorch's default initialization, as CleanRL).
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

void CopyInto(torch::nn::Sequential& dst, const torch::nn::Sequential& src) {
  torch::NoGradGuard no_grad;
  auto d = dst->parameters();
  const auto s = src->parameters();
  for (size_t i = 0; i < d.size(); ++i) d[i].copy_(s[i]);
}

void Polyak(torch::nn::Sequential& target, const torch::nn::Sequential& online, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target->parameters();
  const auto o = online->parameters();
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(1.0 - tau).add_(o[i], tau);
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
  const int64_t obs_dim = observation_space.size();
  const int64_t width = config.hidden.empty() ? obs_dim : config.hidden.back();
  actor_ = Relu(obs_dim, config.hidden, 0);
  mean_ = torch::nn::Linear(width, act_dim_);
  log_std_ = torch::nn::Linear(width, act_dim_);
  for (auto* q : {&q1_, &q2_, &q1_target_, &q2_target_})
    *q = Relu(obs_dim + act_dim_, config.hidden, 1);
  CopyInto(q1_target_, q1_);
  CopyInto(q2_target_, q2_);
  std::vector<float> scale, bias;
  for (int64_t i = 0; i < act_dim_; ++i) {
    scale.push_back(static_cast<float>((action_space.high()[i] - action_space.low()[i]) / 2.0));
    bias.push_back(static_cast<float>((action_space.high()[i] + action_space.low()[i]) / 2.0));
  }
  action_scale_ = torch::tensor(scale).unsqueeze(0);
  action_bias_ = torch::tensor(bias).unsqueeze(0);
  target_entropy_ = -static_cast<double>(act_dim_);
  log_alpha_ = torch::zeros({1}, torch::requires_grad());
  alpha_ = config.autotune ? 1.0 : config.alpha;
  std::vector<torch::Tensor> actor_params = actor_->parameters();
  for (const auto& p : mean_->parameters()) actor_params.push_back(p);
  for (const auto& p : log_std_->parameters()) actor_params.push_back(p);
  std::vector<torch::Tensor> q_params = q1_->parameters();
  for (const auto& p : q2_->parameters()) q_params.push_back(p);
  actor_opt_ = std::make_unique<torch::optim::Adam>(actor_params,
                                                    torch::optim::AdamOptions(config.policy_lr));
  q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(config.q_lr));
  alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                    torch::optim::AdamOptions(config.q_lr));
}

std::vector<torch::Tensor> Sac::parameters() const {
  std::vector<torch::Tensor> p = actor_->parameters();
  for (const auto& m :
       {mean_->parameters(), log_std_->parameters(), q1_->parameters(), q2_->parameters()}) {
    p.insert(p.end(), m.begin(), m.end());
  }
  p.push_back(log_alpha_);
  return p;
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> Sac::Policy(const torch::Tensor& obs) {
  const torch::Tensor h = actor_->forward(obs);
  const torch::Tensor mean = mean_->forward(h);
  torch::Tensor log_std = torch::tanh(log_std_->forward(h));
  log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (log_std + 1);  // into [min, max]
  const torch::Tensor std = log_std.exp();
  const torch::Tensor x = mean + std * torch::randn_like(mean);  // reparameterized sample
  const torch::Tensor y = torch::tanh(x);
  const torch::Tensor action = y * action_scale_ + action_bias_;
  // Normal log-prob minus the tanh change of variables
  torch::Tensor log_prob = -0.5 * ((x - mean) / std).pow(2) - log_std - 0.5 * kLog2Pi;
  log_prob = log_prob - torch::log(action_scale_ * (1 - y.pow(2)) + 1e-6);
  return {action, log_prob.sum(1, /*keepdim=*/true),
          torch::tanh(mean) * action_scale_ + action_bias_};
}

torch::Tensor Sac::Q(torch::nn::Sequential& net, const torch::Tensor& obs,
                     const torch::Tensor& action) {
  return net->forward(torch::cat({obs, action}, 1));
}

void Sac::Act(const torch::Tensor& obs, int64_t*, float* continuous, bool deterministic) {
  c10::InferenceMode guard;
  const auto [action, log_prob, mean] = Policy(obs);
  const torch::Tensor out = (deterministic ? mean : action).contiguous();
  std::memcpy(continuous, out.data_ptr<float>(), sizeof(float) * out.numel());
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

void Sac::ResetCritic() {
  const int64_t obs_dim = q1_->parameters()[0].size(1) - act_dim_;
  for (auto* q : {&q1_, &q2_, &q1_target_, &q2_target_})
    *q = Relu(obs_dim + act_dim_, config_.hidden, 1);
  CopyInto(q1_target_, q1_);
  CopyInto(q2_target_, q2_);
  std::vector<torch::Tensor> q_params = q1_->parameters();
  for (const auto& p : q2_->parameters()) q_params.push_back(p);
  q_opt_ = std::make_unique<torch::optim::Adam>(q_params, torch::optim::AdamOptions(config_.q_lr));
}

std::map<std::string, double> Sac::Update(buffers::Batch& batch, int64_t global_step) {
  auto view = [&](const char* name) {
    auto& f = batch[name];
    return torch::from_blob(f.data.data(), f.shape, torch::kFloat32);
  };
  const torch::Tensor obs = view("obs"), next_obs = view("next_obs"),
                      actions = view("continuous_actions");
  const torch::Tensor rewards = view("rewards").unsqueeze(1),
                      discounts = view("discounts").unsqueeze(1);
  std::map<std::string, double> m;
  // critic: y = r + discount * (min target Q(s', a') - alpha log pi(a'|s'))
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const auto [next_action, next_log_pi, unused] = Policy(next_obs);
    const torch::Tensor min_q =
        torch::min(Q(q1_target_, next_obs, next_action), Q(q2_target_, next_obs, next_action));
    target = rewards + discounts * (min_q - alpha_ * next_log_pi);
  }
  const torch::Tensor q1 = Q(q1_, obs, actions), q2 = Q(q2_, obs, actions);
  const torch::Tensor q1_loss = torch::mse_loss(q1, target), q2_loss = torch::mse_loss(q2, target);
  const torch::Tensor q_loss = q1_loss + q2_loss;
  q_opt_->zero_grad();
  q_loss.backward();
  q_opt_->step();
  m["losses/qf1_values"] = q1.mean().item<double>();
  m["losses/qf1_loss"] = q1_loss.item<double>();
  m["losses/qf2_loss"] = q2_loss.item<double>();
  m["losses/qf_loss"] = q_loss.item<double>() / 2.0;
  // delayed policy updates, compensated by doing policy_frequency of them at once
  if (global_step % config_.policy_frequency == 0) {
    for (int k = 0; k < config_.policy_frequency; ++k) {
      const auto [pi, log_pi, unused] = Policy(obs);
      const torch::Tensor min_q = torch::min(Q(q1_, obs, pi), Q(q2_, obs, pi));
      const torch::Tensor actor_loss = (alpha_ * log_pi - min_q).mean();
      actor_opt_->zero_grad();
      actor_loss.backward();
      actor_opt_->step();
      m["losses/actor_loss"] = actor_loss.item<double>();
      if (config_.autotune) {
        torch::Tensor log_pi_now;
        {
          torch::NoGradGuard no_grad;
          log_pi_now = std::get<1>(Policy(obs));
        }
        const torch::Tensor alpha_loss =
            (-log_alpha_.exp() * (log_pi_now + target_entropy_)).mean();
        alpha_opt_->zero_grad();
        alpha_loss.backward();
        alpha_opt_->step();
        alpha_ = log_alpha_.exp().item<double>();
        m["losses/alpha_loss"] = alpha_loss.item<double>();
      }
    }
  }
  if (global_step % config_.target_network_frequency == 0) {
    Polyak(q1_target_, q1_, config_.tau);
    Polyak(q2_target_, q2_, config_.tau);
  }
  m["losses/alpha"] = alpha_;
  return m;
}

void Sac::Save(torch::serialize::OutputArchive& archive) const {
  nn::SaveTo(archive, "actor", actor_);
  nn::SaveTo(archive, "mean", mean_);
  nn::SaveTo(archive, "log_std", log_std_);
  nn::SaveTo(archive, "q1", q1_);
  nn::SaveTo(archive, "q2", q2_);
  nn::SaveTo(archive, "q1_target", q1_target_);
  nn::SaveTo(archive, "q2_target", q2_target_);
  nn::SaveTo(archive, "actor_opt", *actor_opt_);
  nn::SaveTo(archive, "q_opt", *q_opt_);
  nn::SaveTo(archive, "alpha_opt", *alpha_opt_);
  archive.write("log_alpha", log_alpha_, /*is_buffer=*/true);
  nn::WriteText(archive, "sac_rng", rng_.Serialize());
}

void Sac::Load(torch::serialize::InputArchive& archive) {
  nn::LoadFrom(archive, "actor", actor_);
  nn::LoadFrom(archive, "mean", mean_);
  nn::LoadFrom(archive, "log_std", log_std_);
  nn::LoadFrom(archive, "q1", q1_);
  nn::LoadFrom(archive, "q2", q2_);
  nn::LoadFrom(archive, "q1_target", q1_target_);
  nn::LoadFrom(archive, "q2_target", q2_target_);
  nn::LoadFrom(archive, "actor_opt", *actor_opt_);
  nn::LoadFrom(archive, "q_opt", *q_opt_);
  nn::LoadFrom(archive, "alpha_opt", *alpha_opt_);
  torch::Tensor log_alpha;
  archive.read("log_alpha", log_alpha, /*is_buffer=*/true);
  {
    torch::NoGradGuard no_grad;
    log_alpha_.copy_(log_alpha);
  }
  alpha_ = config_.autotune ? log_alpha_.exp().item<double>() : config_.alpha;
  rng_.Deserialize(nn::ReadText(archive, "sac_rng"));
}

}  // namespace rlforge::algos
