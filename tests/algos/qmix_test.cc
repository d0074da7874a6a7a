// QMIX's, VDN's and independent DQN's hand-written TD-loss gradient against LibTorch autograd on
// pymarl's loss (QMixer with hypernet_layers 2, VDNMixer), written here in LibTorch ops.
#include "rlforge/algos/qmix/qmix.h"

#include <gtest/gtest.h>

#include <random>

#include "torch_util.h"

namespace rlforge::algos {
namespace {

constexpr int kAgents = 3;
constexpr int64_t kB = 17, kIn = 8, kState = 10, kActions = 5;

// Layer l of a Sequential(Linear, ReLU, Linear, ...) given its tensors from `p` starting at `at`.
torch::Tensor Mlp(const std::vector<torch::Tensor>& p, size_t& at, size_t layers, torch::Tensor h) {
  for (size_t l = 0; l < layers; ++l, at += 2) {
    h = torch::nn::functional::linear(h, p[at], p[at + 1]);
    if (l + 1 < layers) h = torch::relu(h);
  }
  return h;
}

// pymarl's QMixer.forward: q (B x N), state (B x S) -> Q_tot (B).
torch::Tensor QMixer(const std::vector<torch::Tensor>& p, size_t first, const QmixConfig& c,
                     const torch::Tensor& q, const torch::Tensor& state) {
  const int64_t E = c.mixing_embed_dim;
  size_t at = first;
  const torch::Tensor w1 = Mlp(p, at, 2, state).abs().view({kB, kAgents, E});
  const torch::Tensor b1 = Mlp(p, at, 1, state).view({kB, 1, E});
  const torch::Tensor wf = Mlp(p, at, 2, state).abs().view({kB, E, 1});
  const torch::Tensor v = Mlp(p, at, 2, state).view({kB, 1, 1});
  const torch::Tensor hidden = torch::elu(torch::bmm(q.view({kB, 1, kAgents}), w1) + b1);
  return (torch::bmm(hidden, wf) + v).view({kB});
}

void ExpectGradientMatchesAutograd(const std::string& mixer, bool double_q) {
  QmixConfig c;
  c.mixer = mixer;
  c.double_q = double_q;
  c.hidden = {16, 16};
  c.mixing_embed_dim = 8;
  c.hypernet_embed = 12;
  c.target_update_interval = 1000;
  Qmix learner(c, kAgents, kIn, kState, kActions, 3);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = normal(rng);
    return v;
  };
  const int64_t R = kAgents * kB;
  std::vector<float> obs = random(R * kIn), next_obs = random(R * kIn);
  std::vector<float> state = random(kB * kState), next_state = random(kB * kState);
  std::vector<float> rewards = random(mixer == "none" ? R : kB), discounts(kB);
  std::vector<int64_t> actions(R);
  for (auto& a : actions) a = std::uniform_int_distribution<int64_t>(0, kActions - 1)(rng);
  for (int64_t b = 0; b < kB; ++b) discounts[b] = b % 4 == 0 ? 0.0f : 0.9f;
  const QmixBatch batch{kB,
                        obs.data(),
                        next_obs.data(),
                        state.data(),
                        next_state.data(),
                        actions.data(),
                        rewards.data(),
                        discounts.data()};
  learner.Update(batch);  // the online network moves away from the target copy

  // the reference: online parameters with gradients, the target's from the checkpoint
  std::vector<torch::Tensor> p = testing::Torch(learner.parameters());
  for (auto& t : p) t.requires_grad_(true);
  io::TensorDict saved;
  learner.Save(saved);
  std::vector<torch::Tensor> target;
  for (const auto& t : learner.parameters()) {
    const io::Tensor& stored = saved.Get("target." + t.name);
    target.push_back(torch::from_blob(const_cast<float*>(stored.as<float>()), t.shape).clone());
  }
  auto rows = [](std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(v.data(), shape).clone();
  };
  const size_t layers = c.hidden.size() + 1;
  size_t at = 0;
  const torch::Tensor x = rows(obs, {R, kIn}), next_x = rows(next_obs, {R, kIn});
  const torch::Tensor a = torch::from_blob(actions.data(), {R, 1}, torch::kInt64).clone();
  const torch::Tensor q_taken = Mlp(p, at, layers, x).gather(1, a).view({kAgents, kB});
  torch::Tensor q_next;
  {
    torch::NoGradGuard no_grad;
    size_t t_at = 0, o_at = 0;
    const torch::Tensor qt = Mlp(target, t_at, layers, next_x);
    q_next = double_q ? qt.gather(1, Mlp(p, o_at, layers, next_x).argmax(1, true))
                      : std::get<0>(qt.max(1, true));
    q_next = q_next.view({kAgents, kB});
  }
  const torch::Tensor disc = rows(discounts, {kB});
  torch::Tensor tot, y;
  if (mixer == "qmix") {
    tot = QMixer(p, at, c, q_taken.t(), rows(state, {kB, kState}));
    torch::NoGradGuard no_grad;
    y = rows(rewards, {kB}) +
        disc * QMixer(target, at, c, q_next.t(), rows(next_state, {kB, kState}));
  } else if (mixer == "vdn") {
    tot = q_taken.sum(0);
    y = rows(rewards, {kB}) + disc * q_next.sum(0);
  } else {
    tot = q_taken;
    y = rows(rewards, {kAgents, kB}) + disc * q_next;
  }
  const torch::Tensor loss = (tot - y.detach()).pow(2).mean();
  loss.backward();

  const auto ours = learner.Gradient(batch);
  EXPECT_NEAR(ours.at("losses/td_loss"), loss.item<double>(), 1e-5 * (1 + loss.item<double>()));
  const std::vector<torch::Tensor> grads = testing::Torch(learner.gradients());
  ASSERT_EQ(grads.size(), p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double scale = p[i].grad().abs().max().item<double>();
    EXPECT_GT(scale, 0.0) << mixer << " parameter " << i;
    const double error = (grads[i] - p[i].grad()).abs().max().item<double>();
    EXPECT_LE(error, 1e-4 * std::max(scale, 1e-3)) << mixer << " parameter " << i;
  }
}

TEST(Qmix, GradientMatchesAutograd) { ExpectGradientMatchesAutograd("qmix", true); }
TEST(Qmix, GradientMatchesAutogradWithoutDoubleQ) { ExpectGradientMatchesAutograd("qmix", false); }
TEST(Vdn, GradientMatchesAutograd) { ExpectGradientMatchesAutograd("vdn", true); }
TEST(IndependentDqn, GradientMatchesAutograd) { ExpectGradientMatchesAutograd("none", false); }

}  // namespace
}  // namespace rlforge::algos
