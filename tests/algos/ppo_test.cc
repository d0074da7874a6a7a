// PPO's hand-written loss gradient and Adam against LibTorch autograd on CleanRL's loss, written
// here in LibTorch ops as the reference.
#include "rlforge/algos/ppo/ppo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "rlforge/nn/mlp.h"
#include "torch_util.h"

namespace rlforge::algos {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

struct Reference {
  std::vector<torch::Tensor> grads;  // in the order of Ppo::parameters()
  torch::Tensor logp, ratio;         // per sample   (B)
  double policy, value, entropy;     // loss terms
};

// CleanRL's ppo.py / ppo_continuous_action.py loss on copies of the agent's parameters.
Reference CleanRlLoss(const Ppo& agent, const Space& act, const Ppo::Minibatch& mb, int64_t obs_dim,
                      int64_t critic_dim) {
  const PpoConfig& c = agent.config();
  std::vector<torch::Tensor> p = testing::Torch(agent.parameters());
  for (auto& t : p) t.requires_grad_(true);
  const int64_t B = mb.size;
  auto rows = [&](const float* d, int64_t width) {
    return torch::from_blob(const_cast<float*>(d), {B, width}).clone();
  };
  const torch::Tensor x = rows(mb.obs, obs_dim);
  const torch::Tensor critic_x = mb.critic_obs ? rows(mb.critic_obs, critic_dim) : x;
  const size_t layers = c.hidden.size() + 1, per_net = (c.layer_norm ? 4 : 2) * layers;
  // Sequential(Linear, act, ...), or with layer_norm (LayerNorm, Linear, act, LayerNorm, ...)
  auto mlp = [&](size_t at, const torch::Tensor& input) {
    torch::Tensor h = input;
    for (size_t l = 0; l < layers; ++l) {
      if (c.layer_norm) {
        h = torch::layer_norm(h, {h.size(1)}, p[at], p[at + 1], 1e-5);
        at += 2;
      }
      h = torch::nn::functional::linear(h, p[at], p[at + 1]);
      at += 2;
      if (l + 1 < layers) h = c.activation == "tanh" ? torch::tanh(h) : torch::relu(h);
    }
    return h;
  };
  const torch::Tensor out = mlp(0, x), value = mlp(per_net, critic_x).squeeze(-1);
  torch::Tensor logp = torch::zeros({B}), entropy = torch::zeros({B});
  if (act.kind() == Space::Kind::kBox) {
    const torch::Tensor log_std = p.back();
    const torch::Tensor a = rows(mb.continuous, out.size(1));
    logp = (-0.5 * ((a - out) / log_std.exp()).pow(2) - log_std - 0.5 * kLog2Pi).sum(-1);
    entropy = (0.5 + 0.5 * kLog2Pi + log_std).sum(-1).expand({B});
  } else {
    const auto& nvec = act.nvec();
    const auto heads = static_cast<int64_t>(nvec.size());
    const int64_t start = act.kind() == Space::Kind::kDiscrete ? act.start() : 0;
    const torch::Tensor actions =
        torch::from_blob(const_cast<int64_t*>(mb.discrete), {B, heads}, torch::kInt64) - start;
    torch::Tensor logits = out;
    if (mb.masks != nullptr) {  // MAPPO's logits[mask == 0] = -1e10
      const torch::Tensor allowed =
          torch::from_blob(const_cast<uint8_t*>(mb.masks), {B, out.size(1)}, torch::kUInt8);
      logits = out.masked_fill(allowed == 0, -1e10);
    }
    for (int64_t h = 0, offset = 0; h < heads; offset += nvec[h++]) {
      const torch::Tensor lp = torch::log_softmax(logits.narrow(1, offset, nvec[h]), -1);
      logp = logp + lp.gather(-1, actions.select(1, h).unsqueeze(-1)).squeeze(-1);
      entropy = entropy - (lp.exp() * lp).sum(-1);
    }
  }
  auto vec = [&](const float* d) { return rows(d, 1).squeeze(-1); };
  torch::Tensor adv = vec(mb.advantages);
  if (c.norm_adv) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
  const torch::Tensor ratio = (logp - vec(mb.old_log_probs)).exp();
  const torch::Tensor pg =
      c.a2c ? -(adv * logp).mean()
            : torch::max(-adv * ratio, -adv * torch::clamp(ratio, 1 - c.clip_coef, 1 + c.clip_coef))
                  .mean();
  const torch::Tensor ret = vec(mb.returns), old_v = vec(mb.old_values);
  // 0.5 (V - R)^2, or MAPPO's Huber loss (torch's huber_loss, delta)
  auto loss_of = [&](const torch::Tensor& v) {
    if (c.huber_delta <= 0) return 0.5 * (v - ret).pow(2);
    return torch::nn::functional::huber_loss(
        v, ret,
        torch::nn::functional::HuberLossFuncOptions().reduction(torch::kNone).delta(c.huber_delta));
  };
  torch::Tensor v_loss = loss_of(value);
  if (c.clip_vloss && !c.a2c) {
    v_loss =
        torch::max(v_loss, loss_of(old_v + torch::clamp(value - old_v, -c.clip_coef, c.clip_coef)));
  }
  v_loss = v_loss.mean();
  (pg - c.ent_coef * entropy.mean() + c.vf_coef * v_loss).backward();
  Reference r{{},
              logp.detach(),
              ratio.detach(),
              pg.item<double>(),
              v_loss.item<double>(),
              entropy.mean().item<double>()};
  for (const auto& t : p) r.grads.push_back(t.grad());
  return r;
}

// Random minibatch data; old log-probs and values are the current ones plus noise, so that some
// ratios and value changes fall outside the clip range and some inside.
struct Data {
  std::vector<float> obs, continuous, old_logp, old_values, advantages, returns, critic;
  std::vector<int64_t> discrete;
  std::vector<uint8_t> masks;  // allowed actions   (B x logits), empty: none
  Ppo::Minibatch View(int64_t B) const {
    return {B,
            obs.data(),
            discrete.data(),
            continuous.data(),
            old_logp.data(),
            old_values.data(),
            advantages.data(),
            returns.data(),
            critic.empty() ? nullptr : critic.data(),
            masks.empty() ? nullptr : masks.data()};
  }
};

// critic_dim > 0: the critic reads an input of its own (MAPPO's centralized critic). masked:
// random action masks (half the actions, at least one per head), the actions among the allowed.
void ExpectGradientMatchesAutograd(const Space& act, PpoConfig config, bool expect_clipping,
                                   int64_t critic_dim = 0, bool masked = false) {
  const int64_t B = 37, obs_dim = 6;
  torch::manual_seed(7);
  Ppo agent(config, Space::Box(-10, 10, {obs_dim}), act, 1, critic_dim);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  if (config.layer_norm) {  // LayerNorm gains and biases away from 1 and 0 (1-D weights)
    io::TensorDict saved;
    agent.Save(saved);
    for (const auto& t : agent.parameters()) {
      if (t.shape.size() != 1 || t.name.size() < 7 || t.name.substr(t.name.size() - 7) != ".weight")
        continue;
      const std::string layer = t.name.substr(0, t.name.size() - 7);
      std::vector<float> g = t.values, b(g.size());
      for (float& x : g) x = 1.0f + 0.3f * normal(rng);
      for (float& x : b) x = 0.2f * normal(rng);
      saved.Put(layer + ".weight", g, t.shape);
      saved.Put(layer + ".bias", b, t.shape);
    }
    agent.Load(saved);
  }
  auto random = [&](size_t n, float scale) {
    std::vector<float> v(n);
    for (float& f : v) f = scale * normal(rng);
    return v;
  };
  Data d;
  d.obs = random(B * obs_dim, 1.0f);
  if (critic_dim > 0) d.critic = random(B * critic_dim, 1.0f);
  d.advantages = random(B, 1.0f);
  d.returns = random(B, 1.0f);
  if (act.kind() == Space::Kind::kBox) {
    d.continuous = random(B * act.num_continuous(), 1.0f);
  } else {
    const int64_t start = act.kind() == Space::Kind::kDiscrete ? act.start() : 0;
    for (int64_t i = 0; i < B; ++i) {
      for (const int64_t n : act.nvec()) {
        const int64_t a = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
        d.discrete.push_back(start + a);
        if (!masked) continue;
        for (int64_t j = 0; j < n; ++j) d.masks.push_back(j == a || rng() % 2 == 0);
      }
    }
  }
  d.old_logp.assign(B, 0.0f);
  d.old_values.assign(B, 0.0f);
  const Reference current = CleanRlLoss(agent, act, d.View(B), obs_dim, critic_dim);
  d.old_logp = random(B, 0.3f);
  d.old_values = random(B, 0.5f);
  for (int64_t i = 0; i < B; ++i) d.old_logp[i] += current.logp[i].item<float>();

  const Reference expected = CleanRlLoss(agent, act, d.View(B), obs_dim, critic_dim);
  const Ppo::Losses losses = agent.Gradient(d.View(B));
  if (expect_clipping) {
    const double clipped = ((expected.ratio - 1).abs() > config.clip_coef).sum().item<double>();
    EXPECT_GT(clipped, 3);
    EXPECT_LT(clipped, B - 3);
    EXPECT_NEAR(losses.clipfrac, clipped / B, 1e-9);
  }
  EXPECT_NEAR(losses.policy, expected.policy, 1e-5);
  EXPECT_NEAR(losses.value, expected.value, 1e-5);
  EXPECT_NEAR(losses.entropy, expected.entropy, 1e-5);
  const std::vector<torch::Tensor> grads = testing::Torch(agent.gradients());
  ASSERT_EQ(grads.size(), expected.grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    ASSERT_EQ(grads[i].sizes(), expected.grads[i].sizes()) << "parameter " << i;
    const double scale = expected.grads[i].abs().max().item<double>();
    EXPECT_GT(scale, 0.0) << "parameter " << i;
    const double error = (grads[i] - expected.grads[i]).abs().max().item<double>();
    EXPECT_LE(error, 1e-4 * std::max(scale, 1e-3)) << "parameter " << i;
  }
}

TEST(Ppo, GradientMatchesAutogradDiscrete) {
  ExpectGradientMatchesAutograd(Space::Discrete(2), PpoConfig{}, true);
}

TEST(Ppo, GradientMatchesAutogradDiscreteWithStartRelu) {
  PpoConfig c;
  c.activation = "relu";
  c.hidden = {13, 7};
  ExpectGradientMatchesAutograd(Space::Discrete(5, -2), c, true);
}

TEST(Ppo, GradientMatchesAutogradMultiDiscreteWithoutClippedValueOrNormalization) {
  PpoConfig c;
  c.clip_vloss = false;
  c.norm_adv = false;
  c.hidden = {16};
  ExpectGradientMatchesAutograd(Space::MultiDiscrete({3, 4}), c, true);
}

TEST(Ppo, GradientMatchesAutogradGaussian) {
  PpoConfig c;
  c.init_log_std = -0.5;
  c.hidden = {32, 24};
  ExpectGradientMatchesAutograd(Space::Box(-1, 1, {3}), c, true);
}

TEST(Ppo, GradientMatchesAutogradA2c) {
  PpoConfig c;
  c.a2c = true;
  c.norm_adv = false;
  ExpectGradientMatchesAutograd(Space::Discrete(3), c, false);
}

// Two training threads split the minibatch rows into two lanes whose sums are added in order.
// MAPPO: the policy on each agent's observation, the critic on the global state (here 11 wide),
// one-hot agent ids appended by the caller; discrete, two heads (simple_reference) and Gaussian.
TEST(Mappo, CentralizedCriticGradientMatchesAutograd) {
  ExpectGradientMatchesAutograd(Space::Discrete(5), PpoConfig{}, true, 11);
  ExpectGradientMatchesAutograd(Space::MultiDiscrete({5, 10}), PpoConfig{}, true, 11);
  PpoConfig c;
  c.ent_coef = 0.0;
  ExpectGradientMatchesAutograd(Space::Box(0, 1, {5}), c, true, 11);
}

// MAPPO's Huber value loss: a delta of 0.4 puts some errors (returns ~ N(0, 1)) beyond it.
TEST(Mappo, HuberValueLossGradientMatchesAutograd) {
  PpoConfig c;
  c.huber_delta = 0.4;
  ExpectGradientMatchesAutograd(Space::Discrete(5), c, true, 11);
  c.clip_vloss = false;
  ExpectGradientMatchesAutograd(Space::Discrete(5), c, true, 11);
}

// MAPPO's LayerNorms (use_feature_normalization, and after each hidden layer); torch's
// layer_norm as the reference. The gains and biases move first, so that they are not 1 and 0.
TEST(Mappo, LayerNormGradientMatchesAutograd) {
  PpoConfig c;
  c.layer_norm = true;
  c.hidden = {16, 12};
  ExpectGradientMatchesAutograd(Space::Discrete(5), c, true, 11);
  ExpectGradientMatchesAutograd(Space::Box(-1, 1, {2}), c, true);
}

// MAPPO's action masks: masked logits take no probability and no gradient.
TEST(Mappo, MaskedGradientMatchesAutograd) {
  ExpectGradientMatchesAutograd(Space::Discrete(5), PpoConfig{}, true, 11, true);
  ExpectGradientMatchesAutograd(Space::MultiDiscrete({5, 10}), PpoConfig{}, true, 0, true);
}

TEST(Mappo, ActingDrawsOnlyAllowedActions) {
  Ppo agent(PpoConfig{}, Space::Box(-1, 1, {3}), Space::MultiDiscrete({4, 3}), 5);
  const int64_t n = 200;
  std::vector<float> obs(n * 3, 0.5f);
  std::vector<uint8_t> masks;
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) masks.push_back(j == i % 4 || j == (i + 2) % 4);  // two of four
    for (int j = 0; j < 3; ++j) masks.push_back(j == i % 3);                      // one of three
  }
  std::vector<int64_t> actions(n * 2);
  std::vector<float> log_probs(n);
  std::set<int64_t> first_head;
  for (const bool deterministic : {false, true}) {
    agent.Act(obs.data(), n, actions.data(), nullptr, log_probs.data(), nullptr, deterministic,
              masks.data());
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(masks[i * 7 + actions[i * 2]]) << "row " << i;
      EXPECT_EQ(actions[i * 2 + 1], i % 3) << "row " << i;
      // one allowed of two in head one, the only one in head two: log pi near log 1/2
      EXPECT_NEAR(log_probs[i], std::log(0.5), 0.05) << "row " << i;
      if (!deterministic) first_head.insert(actions[i * 2]);
    }
  }
  EXPECT_EQ(first_head.size(), 4u);  // every action drawn where allowed
}

TEST(Ppo, GradientMatchesAutogradWithTwoThreads) {
  nn::SetTrainingThreads(2);
  PpoConfig c;
  c.hidden = {24, 16};
  ExpectGradientMatchesAutograd(Space::Discrete(3), c, true);
  ExpectGradientMatchesAutograd(Space::Box(-1, 1, {2}), c, true);
  nn::SetTrainingThreads(1);
}

TEST(Ppo, FlatAdamMatchesTorchAdam) {
  torch::manual_seed(3);
  const torch::Tensor start = torch::randn({50});
  torch::Tensor p = start.clone().requires_grad_(true);
  torch::optim::Adam torch_adam({p}, torch::optim::AdamOptions(3e-3).eps(1e-5));
  std::vector<float> flat(start.data_ptr<float>(), start.data_ptr<float>() + 50);
  nn::FlatAdam adam(50, 1e-5);
  for (int step = 0; step < 20; ++step) {
    const torch::Tensor g = torch::randn({50}) * (step % 3 == 0 ? 10.0 : 0.1);
    p.mutable_grad() = g.clone();
    torch_adam.step();
    adam.Step(flat.data(), g.data_ptr<float>(), 3e-3);
  }
  EXPECT_EQ(adam.step(), 20);
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(flat[i], p[i].item<float>(), 1e-6) << i;
  EXPECT_GT((p - start).abs().max().item<float>(), 1e-2);
}

}  // namespace
}  // namespace rlforge::algos
