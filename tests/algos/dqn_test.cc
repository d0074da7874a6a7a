// DQN's hand-written TD-loss gradient against LibTorch autograd on CleanRL's dqn.py loss (and the
// Huber and Double DQN options).
#include "rlforge/algos/dqn/dqn.h"

#include <gtest/gtest.h>

#include "torch_util.h"

namespace rlforge::algos {
namespace {

void ExpectGradientMatchesAutograd(DqnConfig config) {
  const int64_t B = 33, obs_dim = 4, n = 3;
  config.hidden = {20, 12};
  torch::manual_seed(2);
  Dqn agent(config, Space::Box(-5, 5, {obs_dim}), Space::Discrete(n, 1), 7);
  buffers::Batch batch;
  auto field = [&](const char* name, DType type, std::vector<int64_t> shape, torch::Tensor t) {
    buffers::BatchField& f = batch.fields.emplace_back();
    f.name = name;
    f.Resize(type, shape);
    std::memcpy(f.data.data(), t.contiguous().data_ptr(), f.data.size());
    return t;
  };
  const torch::Tensor obs = field("obs", DType::kFloat32, {B, obs_dim}, torch::randn({B, obs_dim}));
  const torch::Tensor next_obs =
      field("next_obs", DType::kFloat32, {B, obs_dim}, torch::randn({B, obs_dim}));
  const torch::Tensor actions =
      field("discrete_actions", DType::kInt64, {B, 1}, torch::randint(1, n + 1, {B, 1}));
  const torch::Tensor rewards = field("rewards", DType::kFloat32, {B}, 3 * torch::randn({B}));
  const torch::Tensor discounts =
      field("discounts", DType::kFloat32, {B}, 0.99 * (torch::rand({B}) > 0.2).to(torch::kFloat32));
  // the target network keeps the initial weights; one update moves the online one away
  const std::vector<torch::Tensor> target_p = testing::Torch(agent.parameters());
  agent.Update(batch);
  std::vector<torch::Tensor> p = testing::Torch(agent.parameters());
  for (auto& t : p) t.requires_grad_(true);
  auto q_net = [&](const std::vector<torch::Tensor>& w, torch::Tensor h) {
    for (size_t l = 0; l < 3; ++l) {
      h = torch::nn::functional::linear(h, w[2 * l], w[2 * l + 1]);
      if (l < 2) h = torch::relu(h);
    }
    return h;
  };
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor next_q = q_net(target_p, next_obs);
    const torch::Tensor online_pick = q_net(p, next_obs).argmax(-1, true);
    if (config.double_dqn) {
      EXPECT_TRUE((online_pick != next_q.argmax(-1, true)).any().item<bool>());
    }
    const torch::Tensor next_value =
        config.double_dqn ? next_q.gather(1, online_pick).squeeze(1) : std::get<0>(next_q.max(-1));
    target = rewards + discounts * next_value;
  }
  const torch::Tensor q = q_net(p, obs).gather(1, actions - 1).squeeze(1);
  const torch::Tensor loss =
      config.huber ? torch::smooth_l1_loss(q, target) : torch::mse_loss(q, target);
  loss.backward();

  const auto losses = agent.Update(batch);
  EXPECT_NEAR(losses.at("losses/td_loss"), loss.item<double>(), 1e-4);
  EXPECT_NEAR(losses.at("losses/q_values"), q.mean().item<double>(), 1e-5);
  const std::vector<torch::Tensor> grads = testing::Torch(agent.gradients());
  ASSERT_EQ(grads.size(), p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double scale = p[i].grad().abs().max().item<double>();
    EXPECT_GT(scale, 0.0) << "parameter " << i;
    EXPECT_LE((grads[i] - p[i].grad()).abs().max().item<double>(), 1e-4 * std::max(scale, 1e-3))
        << "parameter " << i;
  }
  // and the Adam step moved the online network
  EXPECT_GT((testing::Torch(agent.parameters())[0] - p[0].detach()).abs().max().item<double>(),
            1e-5);
}

TEST(Dqn, GradientMatchesAutogradMse) { ExpectGradientMatchesAutograd(DqnConfig{}); }

TEST(Dqn, GradientMatchesAutogradHuberDoubleDqn) {
  DqnConfig c;
  c.huber = true;
  c.double_dqn = true;
  c.learning_rate = 0.05;  // a first step big enough that online and target disagree on argmax
  ExpectGradientMatchesAutograd(c);
}

// With two training threads each lane takes part of the batch's rows (16 and 17 of 33): the
// summed gradient and the losses must still be the whole batch's.
TEST(Dqn, GradientMatchesAutogradWithTwoThreads) {
  nn::SetTrainingThreads(2);
  ExpectGradientMatchesAutograd(DqnConfig{});
  DqnConfig c;
  c.huber = true;
  c.double_dqn = true;
  c.learning_rate = 0.05;
  ExpectGradientMatchesAutograd(c);
  nn::SetTrainingThreads(1);
}

}  // namespace
}  // namespace rlforge::algos
