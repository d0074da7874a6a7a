#include "rlforge/algos/dqn/dqn.h"

#include <c10/core/InferenceMode.h>

#include "rlforge/core/error.h"
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
  torch::serialize::OutputArchive q, target, optimizer;
  q_->save(q);
  target_->save(target);
  optimizer_->save(optimizer);
  archive.write("q", q);
  archive.write("target", target);
  archive.write("optimizer", optimizer);
  const std::string rng = rng_.Serialize();
  archive.write("dqn_rng",
                torch::from_blob(const_cast<char*>(rng.data()), {static_cast<int64_t>(rng.size())},
                                 torch::kUInt8)
                    .clone(),
                true);
}

void Dqn::Load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive q, target, optimizer;
  archive.read("q", q);
  archive.read("target", target);
  archive.read("optimizer", optimizer);
  q_->load(q);
  target_->load(target);
  optimizer_->load(optimizer);
  torch::Tensor rng;
  archive.read("dqn_rng", rng, true);
  rng_.Deserialize(std::string(reinterpret_cast<const char*>(rng.data_ptr<uint8_t>()),
                               static_cast<size_t>(rng.numel())));
}

}  // namespace rlforge::algos
