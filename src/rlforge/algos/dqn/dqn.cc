#include "rlforge/algos/dqn/dqn.h"

#include <c10/core/InferenceMode.h>

#include "rlforge/core/error.h"
#include "rlforge/nn/archive.h"
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
  q_ = nn::Mlp(observation_space.size(), config.hidden, action_space.n(), "relu", std::sqrt(2.0));
  target_ =
      nn::Mlp(observation_space.size(), config.hidden, action_space.n(), "relu", std::sqrt(2.0));
  {
    torch::NoGradGuard no_grad;
    const auto src = q_->parameters();
    auto dst = target_->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(
      q_->parameters(), torch::optim::AdamOptions(config.learning_rate));
}

void Dqn::Act(const torch::Tensor& obs, int64_t* discrete, float*, bool) {
  c10::InferenceMode guard;
  const torch::Tensor a = q_->forward(obs).argmax(-1).contiguous();
  for (int64_t i = 0; i < a.size(0); ++i)
    discrete[i] = a.data_ptr<int64_t>()[i] + action_space_.start();
}

void Dqn::Explore(const torch::Tensor& obs, double epsilon, int64_t* discrete) {
  Act(obs, discrete, nullptr, true);
  for (int64_t i = 0; i < obs.size(0); ++i) {
    if (rng_.Random() < epsilon)
      discrete[i] = action_space_.start() + rng_.Integers(action_space_.n());
  }
}

std::map<std::string, double> Dqn::Update(buffers::Batch& batch) {
  auto view = [&](const char* name, torch::ScalarType type) {
    auto& f = batch[name];
    return torch::from_blob(f.data.data(), f.shape, type);
  };
  const torch::Tensor obs = view("obs", torch::kFloat32),
                      next_obs = view("next_obs", torch::kFloat32);
  const torch::Tensor actions =
      view("discrete_actions", torch::kInt64).select(1, 0) - action_space_.start();
  const torch::Tensor rewards = view("rewards", torch::kFloat32),
                      discounts = view("discounts", torch::kFloat32);
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor next_q = target_->forward(next_obs);
    const torch::Tensor next_value =
        config_.double_dqn ? next_q.gather(1, q_->forward(next_obs).argmax(-1, true)).squeeze(1)
                           : std::get<0>(next_q.max(-1));
    target = rewards + discounts * next_value;  // discounts = gamma^n, 0 after a terminal
  }
  const torch::Tensor q = q_->forward(obs).gather(1, actions.unsqueeze(1)).squeeze(1);
  const torch::Tensor loss =
      config_.huber ? torch::smooth_l1_loss(q, target) : torch::mse_loss(q, target);
  optimizer_->zero_grad();
  loss.backward();
  if (config_.max_grad_norm > 0) nn::ClipGradNorm(q_->parameters(), config_.max_grad_norm);
  optimizer_->step();
  return {{"losses/td_loss", loss.item<double>()}, {"losses/q_values", q.mean().item<double>()}};
}

void Dqn::UpdateTarget() {
  torch::NoGradGuard no_grad;
  const auto src = q_->parameters();
  auto dst = target_->parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].mul_(1.0 - config_.tau).add_(src[i], config_.tau);
}

void Dqn::Save(torch::serialize::OutputArchive& archive) const {
  nn::SaveTo(archive, "q", q_);
  nn::SaveTo(archive, "target", target_);
  nn::SaveTo(archive, "optimizer", *optimizer_);
  nn::WriteText(archive, "dqn_rng", rng_.Serialize());
}

void Dqn::Load(torch::serialize::InputArchive& archive) {
  nn::LoadFrom(archive, "q", q_);
  nn::LoadFrom(archive, "target", target_);
  nn::LoadFrom(archive, "optimizer", *optimizer_);
  rng_.Deserialize(nn::ReadText(archive, "dqn_rng"));
}

}  // namespace rlforge::algos
