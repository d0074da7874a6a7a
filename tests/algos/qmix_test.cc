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

// masked: random action masks now and next (the taken action allowed), and agents out of the
// env when acting (about 1 in 5) or after the step (1 in 3 more).
void ExpectGradientMatchesAutograd(const std::string& mixer, bool double_q, bool masked = false) {
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
  std::vector<uint8_t> masks(R * kActions), next_masks(R * kActions), active(R), next_active(R);
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t j = 0; j < kActions; ++j) {
      masks[r * kActions + j] = j == actions[r] || rng() % 2 == 0;
      next_masks[r * kActions + j] = j == (r % kActions) || rng() % 2 == 0;
    }
    active[r] = r < kB || rng() % 5 != 0;  // agent 0 always in: every transition mixes someone
    next_active[r] = active[r] && rng() % 3 != 0;
  }
  const QmixBatch batch{kB,
                        obs.data(),
                        next_obs.data(),
                        state.data(),
                        next_state.data(),
                        actions.data(),
                        rewards.data(),
                        discounts.data(),
                        masked ? masks.data() : nullptr,
                        masked ? next_masks.data() : nullptr,
                        masked ? active.data() : nullptr,
                        masked ? next_active.data() : nullptr};
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
  auto flags = [&](std::vector<uint8_t>& v, std::vector<int64_t> shape) {
    return masked ? torch::from_blob(v.data(), shape, torch::kUInt8).to(torch::kFloat32)
                  : torch::ones(shape);
  };
  const torch::Tensor in = flags(active, {kAgents, kB}),
                      next_in = flags(next_active, {kAgents, kB});
  const torch::Tensor next_allowed = flags(next_masks, {R, kActions});
  const size_t layers = c.hidden.size() + 1;
  size_t at = 0;
  const torch::Tensor x = rows(obs, {R, kIn}), next_x = rows(next_obs, {R, kIn});
  const torch::Tensor a = torch::from_blob(actions.data(), {R, 1}, torch::kInt64).clone();
  const torch::Tensor q_taken = Mlp(p, at, layers, x).gather(1, a).view({kAgents, kB}) * in;
  torch::Tensor q_next;
  {
    torch::NoGradGuard no_grad;
    size_t t_at = 0, o_at = 0;
    const torch::Tensor qt = Mlp(target, t_at, layers, next_x);
    auto allowed = [&](const torch::Tensor& q) { return q.masked_fill(next_allowed == 0, -1e30); };
    q_next = double_q ? qt.gather(1, allowed(Mlp(p, o_at, layers, next_x)).argmax(1, true))
                      : std::get<0>(allowed(qt).max(1, true));
    q_next = q_next.view({kAgents, kB}) * next_in;
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
  // the mean over transitions, or without a mixer over the agents in the env
  const torch::Tensor loss = mixer == "none" ? ((tot - y.detach()).pow(2) * in).sum() / in.sum()
                                             : (tot - y.detach()).pow(2).mean();
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
TEST(Qmix, MaskedGradientMatchesAutogradWithAgentsOutOfTheEnv) {
  ExpectGradientMatchesAutograd("qmix", true, true);
  ExpectGradientMatchesAutograd("qmix", false, true);
  ExpectGradientMatchesAutograd("vdn", true, true);
  ExpectGradientMatchesAutograd("none", true, true);
}

TEST(Qmix, ActingExploresAndMaximizesOverTheAllowedActionsOnly) {
  QmixConfig c;
  c.hidden = {8};
  Qmix learner(c, 1, 4, 4, kActions, 9);
  const int64_t n = 400;
  std::vector<float> inputs(n * 4, 0.3f);
  std::vector<uint8_t> masks(n * kActions);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < kActions; ++j) masks[r * kActions + j] = j == r % 5 || j == (r + 3) % 5;
  std::vector<int64_t> actions(n);
  for (const double epsilon : {1.0, 0.0}) {
    learner.Act(inputs.data(), n, epsilon, actions.data(), masks.data());
    int64_t first = 0;
    for (int64_t r = 0; r < n; ++r) {
      EXPECT_TRUE(masks[r * kActions + actions[r]]) << r << " epsilon " << epsilon;
      first += actions[r] == r % 5;
    }
    if (epsilon == 1.0) EXPECT_NEAR(first, n / 2, n / 8);  // uniform over the two allowed
  }
}

}  // namespace
}  // namespace rlforge::algos
