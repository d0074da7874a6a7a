// SAC's hand-written critic and actor gradients against LibTorch autograd on CleanRL's losses
// (sac_continuous_action.py), written here in LibTorch ops as the reference, with the same noise.
#include "rlforge/algos/sac/sac.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "rlforge/nn/mlp.h"
#include "torch_util.h"

namespace rlforge::algos {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

struct Nets {
  std::vector<torch::Tensor> p;  // Sac::parameters() with gradients on
  size_t trunk_layers;
  torch::Tensor Mlp(size_t first, size_t layers, torch::Tensor h) const {
    for (size_t l = 0; l < layers; ++l) {
      h = torch::nn::functional::linear(h, p[first + 2 * l], p[first + 2 * l + 1]);
      if (l + 1 < layers) h = torch::relu(h);
    }
    return h;
  }
  // squashed sample with the given noise and its log-prob, CleanRL's Actor.get_action
  std::pair<torch::Tensor, torch::Tensor> Policy(const torch::Tensor& obs, const torch::Tensor& eps,
                                                 const torch::Tensor& scale,
                                                 const torch::Tensor& bias) const {
    torch::Tensor h = obs;
    for (size_t l = 0; l < trunk_layers; ++l) {
      h = torch::relu(torch::nn::functional::linear(h, p[2 * l], p[2 * l + 1]));
    }
    const size_t m = 2 * trunk_layers;
    const torch::Tensor mean = torch::nn::functional::linear(h, p[m], p[m + 1]);
    torch::Tensor log_std = torch::tanh(torch::nn::functional::linear(h, p[m + 2], p[m + 3]));
    log_std = -5.0 + 0.5 * (2.0 - -5.0) * (log_std + 1);
    const torch::Tensor std = log_std.exp();
    const torch::Tensor x = mean + std * eps;
    const torch::Tensor y = torch::tanh(x);
    torch::Tensor log_prob = -0.5 * ((x - mean) / std).pow(2) - log_std - 0.5 * kLog2Pi;
    log_prob = log_prob - torch::log(scale * (1 - y.pow(2)) + 1e-6);
    return {y * scale + bias, log_prob.sum(1, true)};
  }
  torch::Tensor Q(size_t which, const torch::Tensor& obs, const torch::Tensor& a,
                  size_t q_layers) const {
    const size_t first = 2 * trunk_layers + 4 + which * 2 * q_layers;
    return Mlp(first, q_layers, torch::cat({obs, a}, 1));
  }
};

void ExpectClose(const std::vector<torch::Tensor>& got, const std::vector<torch::Tensor>& p,
                 size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    ASSERT_TRUE(p[i].grad().defined()) << "parameter " << i;
    const torch::Tensor want = p[i].grad();
    ASSERT_EQ(got[i].sizes(), want.sizes()) << "parameter " << i;
    const double scale = want.abs().max().item<double>();
    EXPECT_GT(scale, 0.0) << "parameter " << i;
    EXPECT_LE((got[i] - want).abs().max().item<double>(), 1e-4 * std::max(scale, 1e-3))
        << "parameter " << i;
  }
}

void ExpectGradientsMatchAutograd(std::vector<int64_t> hidden = {24, 17}) {
  const int64_t B = 29, obs_dim = 5, A = 2;
  SacConfig config;
  config.hidden = std::move(hidden);
  config.autotune = false;
  config.alpha = 0.3;
  torch::manual_seed(5);
  const Space act = Space::Box({-2.0, 0.0}, {2.0, 1.0}, {A});
  Sac agent(config, Space::Box(-10, 10, {obs_dim}), act, 1);
  const torch::Tensor scale = torch::tensor({2.0f, 0.5f}).unsqueeze(0);
  const torch::Tensor bias = torch::tensor({0.0f, 0.5f}).unsqueeze(0);

  buffers::Batch batch;
  auto field = [&](const char* name, std::vector<int64_t> shape, torch::Tensor values) {
    buffers::BatchField& f = batch.fields.emplace_back();
    f.name = name;
    f.Resize(DType::kFloat32, shape);
    std::memcpy(f.data.data(), values.contiguous().data_ptr<float>(), f.data.size());
    return values;
  };
  const torch::Tensor obs = field("obs", {B, obs_dim}, torch::randn({B, obs_dim}));
  const torch::Tensor next_obs = field("next_obs", {B, obs_dim}, torch::randn({B, obs_dim}));
  const torch::Tensor actions =
      field("continuous_actions", {B, A}, torch::rand({B, A}) * scale * 2 - scale + bias);
  const torch::Tensor rewards = field("rewards", {B}, torch::randn({B}));
  const torch::Tensor discounts =
      field("discounts", {B}, 0.99 * (torch::rand({B}) > 0.2).to(torch::kFloat32));

  const auto losses = agent.CriticGradient(batch);
  const torch::Tensor next_eps = torch::tensor(agent.noise()).view({B, A}).clone();
  const double actor_loss = agent.ActorGradient(obs.data_ptr<float>(), B);
  const torch::Tensor eps = torch::tensor(agent.noise()).view({B, A}).clone();
  const std::vector<torch::Tensor> got = testing::Torch(agent.gradients());

  Nets nets{testing::Torch(agent.parameters()), config.hidden.size()};
  nets.p.pop_back();  // log alpha
  for (auto& t : nets.p) t.requires_grad_(true);
  const size_t q_layers = config.hidden.size() + 1, actor_end = 2 * nets.trunk_layers + 4;
  // critic: the target from the same target nets (equal to q1, q2 before any update)
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const auto [next_a, next_logp] = nets.Policy(next_obs, next_eps, scale, bias);
    const torch::Tensor min_q =
        torch::min(nets.Q(0, next_obs, next_a, q_layers), nets.Q(1, next_obs, next_a, q_layers));
    target = rewards.unsqueeze(1) + discounts.unsqueeze(1) * (min_q - config.alpha * next_logp);
  }
  const torch::Tensor q1 = nets.Q(0, obs, actions, q_layers);
  const torch::Tensor q1_loss = torch::mse_loss(q1, target);
  const torch::Tensor q2_loss = torch::mse_loss(nets.Q(1, obs, actions, q_layers), target);
  (q1_loss + q2_loss).backward();
  EXPECT_NEAR(losses.at("losses/qf1_loss"), q1_loss.item<double>(), 1e-4);
  EXPECT_NEAR(losses.at("losses/qf2_loss"), q2_loss.item<double>(), 1e-4);
  EXPECT_NEAR(losses.at("losses/qf1_values"), q1.mean().item<double>(), 1e-5);
  ExpectClose(got, nets.p, actor_end, nets.p.size());
  // actor: its gradient only (the critic's from this loss is not used)
  for (auto& t : nets.p) t.mutable_grad() = torch::Tensor();
  const auto [pi, logp] = nets.Policy(obs, eps, scale, bias);
  const torch::Tensor min_q =
      torch::min(nets.Q(0, obs, pi, q_layers), nets.Q(1, obs, pi, q_layers));
  const torch::Tensor loss = (config.alpha * logp - min_q).mean();
  loss.backward();
  EXPECT_NEAR(actor_loss, loss.item<double>(), 1e-4);
  ExpectClose(got, nets.p, 0, actor_end);
}

TEST(Sac, CriticAndActorGradientsMatchAutograd) { ExpectGradientsMatchAutograd(); }

// Two training threads split the batch rows into two lanes whose sums are added in order; with
// [256, 256] nets (over 64k parameters each) the lanes also split the sum itself.
TEST(Sac, CriticAndActorGradientsMatchAutogradWithTwoThreads) {
  nn::SetTrainingThreads(2);
  ExpectGradientsMatchAutograd();
  ExpectGradientsMatchAutograd({256, 256});
  nn::SetTrainingThreads(1);
}

// With two threads and nets over 64k parameters, Adam and the Polyak average run split between
// the lanes: every target value must still be (1 - tau) target + tau q after a step.
TEST(Sac, TwoThreadsAverageEveryTargetParameter) {
  nn::SetTrainingThreads(2);
  const int64_t B = 16;
  SacConfig config;
  config.tau = 0.25;
  Sac agent(config, Space::Box(-10, 10, {3}), Space::Box(-1, 1, {1}), 3);
  buffers::Batch batch;
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  for (const auto& [name, width] : {std::pair{"obs", 3},
                                    {"next_obs", 3},
                                    {"continuous_actions", 1},
                                    {"rewards", 0},
                                    {"discounts", 0}}) {
    buffers::BatchField& f = batch.fields.emplace_back();
    f.name = name;
    f.Resize(DType::kFloat32, width > 0 ? std::vector<int64_t>{B, width} : std::vector<int64_t>{B});
    for (int64_t i = 0; i < f.numel(); ++i) f.as<float>()[i] = 0.5f * normal(rng);
  }
  const nn::NamedTensors before = agent.parameters();  // the targets start equal to these
  agent.Update(batch, 1);
  const nn::NamedTensors after = agent.parameters();
  io::TensorDict saved;
  agent.Save(saved);
  const auto tau = static_cast<float>(config.tau);
  int64_t checked = 0, moved = 0;
  for (size_t t = 0; t < before.size(); ++t) {
    const std::string& name = before[t].name;
    if (name.rfind("qf", 0) != 0) continue;
    const std::string target = name.substr(0, 3) + "_target" + name.substr(3);
    std::vector<float> got(before[t].values.size());
    saved.Read(target, got, before[t].shape);
    for (size_t i = 0; i < got.size(); ++i) {
      const float old = before[t].values[i], now = after[t].values[i];
      ASSERT_EQ(got[i], old * (1.0f - tau) + now * tau) << target << "[" << i << "]";
      moved += now != old;
      ++checked;
    }
  }
  EXPECT_GT(checked, 2 * 65536);  // q1 and q2: each over the split threshold
  EXPECT_GT(moved, checked / 2);  // Adam stepped both halves of the block
  nn::SetTrainingThreads(1);
}

}  // namespace
}  // namespace rlforge::algos
