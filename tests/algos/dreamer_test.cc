// DreamerV3 (the plugin librlforge_dreamer.so): each piece of the math against hand-computed
// values or a plain loop, the RSSM's episode resets, the stop-gradient between actor-critic and
// world model, the optimizer against a scalar loop, bad input, a smoke test of the world model
// on CartPole data, and determinism and resume through the trainer.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "rlforge/algos/dreamer/agent.h"
#include "rlforge/algos/registry.h"
#include "rlforge/env/registry.h"
#include "rlforge/train/config.h"
#include "rlforge/train/trainer.h"
#include "test_util.h"

namespace rlforge::dreamer {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::TempPath;

// ctest runs two tests at once on two cores: one compute thread each, as the trainer's default
const bool kOneThread = (SetComputeThreads(1), true);

// A tiny model: every part of the 2024 architecture at widths that train in milliseconds.
std::vector<std::string> Tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {"algo=dreamer",         "env.id=CartPole-v1",
                                "dreamer.deter=64",     "dreamer.hidden=32",
                                "dreamer.units=32",     "dreamer.classes=4",
                                "dreamer.stoch=8",      "dreamer.blocks=4",
                                "dreamer.batch_size=8", "dreamer.batch_length=16",
                                "dreamer.imag_last=4",  "dreamer.imag_horizon=5",
                                "progress=false"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

algos::DreamerConfig TinyConfig(std::vector<std::string> extra = {}) {
  return train::LoadConfig("", Tiny(std::move(extra))).dreamer;
}

TEST(DreamerMath, SymlogAndSymexp) {
  const torch::Tensor x = torch::tensor({-(std::exp(2.0f) - 1), -1.0f, 0.0f, std::exp(1.0f) - 1});
  const torch::Tensor y = Symlog(x);
  EXPECT_NEAR(y[0].item<float>(), -2.0f, 1e-6);
  EXPECT_NEAR(y[1].item<float>(), -std::log(2.0f), 1e-6);
  EXPECT_EQ(y[2].item<float>(), 0.0f);
  EXPECT_NEAR(y[3].item<float>(), 1.0f, 1e-6);
  EXPECT_TRUE(torch::allclose(Symexp(y), x, 1e-5, 1e-5));
  EXPECT_NEAR(Symexp(torch::tensor({3.0f}))[0].item<float>(), std::exp(3.0f) - 1, 1e-4);
}

TEST(DreamerMath, TwoHotBinsAreSymmetricAndUniformDecodesToExactlyZero) {
  const TwoHot twohot(255, "symexp", torch::kCPU);
  const torch::Tensor b = twohot.bins();
  ASSERT_EQ(b.size(0), 255);
  EXPECT_EQ(b[127].item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(b, -b.flip(0)));
  EXPECT_NEAR(b[254].item<float>(), std::expm1(20.0f), 1.0f);
  // zero logits (the zero-initialized heads) decode to exactly 0, not to a rounding residue
  EXPECT_EQ(twohot.Decode(torch::zeros({3, 255})).abs().max().item<float>(), 0.0f);
  const TwoHot linear(255, "symlog", torch::kCPU);
  EXPECT_EQ(linear.Decode(torch::zeros({255})).item<float>(), 0.0f);
}

TEST(DreamerMath, TwoHotEncodingByHand) {
  const TwoHot twohot(255, "symexp", torch::kCPU);
  const torch::Tensor b = twohot.bins();
  // a value a quarter of the way from bin 130 to bin 131
  const float lo = b[130].item<float>(), hi = b[131].item<float>();
  const float y = lo + 0.25f * (hi - lo);
  const torch::Tensor w = twohot.Encode(torch::tensor({y}))[0];
  EXPECT_NEAR(w[130].item<float>(), 0.75f, 1e-5);
  EXPECT_NEAR(w[131].item<float>(), 0.25f, 1e-5);
  EXPECT_NEAR(w.sum().item<float>(), 1.0f, 1e-6);
  // on a bin exactly: all weight there; outside the range: clamped to the end bins
  EXPECT_EQ(twohot.Encode(torch::tensor({0.0f}))[0][127].item<float>(), 1.0f);
  const torch::Tensor out = twohot.Encode(torch::tensor({1e10f, -1e10f}));
  EXPECT_EQ(out[0][254].item<float>(), 1.0f);
  EXPECT_EQ(out[1][0].item<float>(), 1.0f);
  // logits that put the two-hot's mass where it belongs decode to the value
  const torch::Tensor logits = torch::log(twohot.Encode(torch::tensor({y})) + 1e-30);
  EXPECT_NEAR(twohot.Decode(logits)[0].item<float>(), y, 1e-4 * std::abs(y));
  // the 2023 bins: linear in symlog space, the target symlog'ed
  const TwoHot linear(255, "symlog", torch::kCPU);
  const torch::Tensor lw = linear.Encode(torch::tensor({std::expm1(1.0f)}))[0];
  // bins are 40/254 apart with bin 127 at 0: symlog(y) = 1 lies between bins 133 and 134
  const float step = 40.0f / 254.0f, frac = (1.0f - 6 * step) / step;
  EXPECT_NEAR(lw[133].item<float>(), 1 - frac, 1e-4);
  EXPECT_NEAR(lw[134].item<float>(), frac, 1e-4);
}

TEST(DreamerMath, LambdaReturnMatchesAPlainLoop) {
  torch::manual_seed(3);
  const int64_t B = 3, T = 6;
  const torch::Tensor reward = torch::randn({B, T + 1}), boot = torch::randn({B, T + 1});
  const torch::Tensor term = (torch::rand({B, T + 1}) < 0.2).to(torch::kFloat32);
  const torch::Tensor last = (torch::rand({B, T + 1}) < 0.2).to(torch::kFloat32);
  const double disc = 0.9, lambda = 0.95;
  const torch::Tensor R = LambdaReturn(last, term, reward, boot, disc, lambda);
  ASSERT_EQ(R.sizes(), (std::vector<int64_t>{B, T}));
  for (int64_t b = 0; b < B; ++b) {
    double next = boot[b][T].item<double>();
    for (int64_t t = T - 1; t >= 0; --t) {
      const double live = (1 - term[b][t + 1].item<double>()) * disc;
      const double c = (1 - last[b][t + 1].item<double>()) * lambda;
      next = reward[b][t + 1].item<double>() +
             live * ((1 - c) * boot[b][t + 1].item<double>() + c * next);
      EXPECT_NEAR(R[b][t].item<double>(), next, 1e-5) << b << " " << t;
    }
  }
}

TEST(DreamerMath, PercentileReturnNormalization) {
  ReturnNorm norm(0.99, 1.0);
  // 0..100: the 5th and 95th percentiles are 5 and 95; the EMAs start at 0
  const torch::Tensor r = torch::arange(101, torch::kFloat32);
  EXPECT_NEAR(norm.Update(r).item<double>(), 1.0, 1e-12);  // 0.95 - 0.05 = 0.9 < limit 1
  EXPECT_NEAR(norm.lo(), 0.05, 1e-6);
  EXPECT_NEAR(norm.hi(), 0.95, 1e-6);
  for (int i = 1; i < 2000; ++i) norm.Update(r);
  EXPECT_NEAR(norm.scale().item<double>(), 90.0, 1e-3);  // converged: P95 - P5
  // small returns are never scaled up
  ReturnNorm small(0.0, 1.0);
  EXPECT_EQ(small.Update(torch::full({10}, 0.1f) * torch::arange(10)).item<double>(), 1.0);
}

TEST(DreamerMath, FreeBitsKlPerElementAndUnimix) {
  // two latents of 2 classes: KL summed over latents, then clipped per element
  const torch::Tensor p = torch::tensor({{{0.5f, 0.5f}, {0.9f, 0.1f}}}).requires_grad_(true);
  const torch::Tensor q = torch::tensor({{{0.25f, 0.75f}, {0.5f, 0.5f}}});
  const double kl =
      0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75) + 0.9 * std::log(1.8) + 0.1 * std::log(0.2);
  const torch::Tensor k = CategoricalKl(p, q);
  EXPECT_NEAR(k[0].item<double>(), kl, 1e-6);
  EXPECT_EQ(FreeBits(k, 1.0)[0].item<double>(), 1.0);  // kl = 0.41 < 1 nat
  FreeBits(k, 1.0).sum().backward();
  EXPECT_EQ(p.grad().abs().sum().item<float>(), 0.0f);  // clipped: no gradient
  EXPECT_NEAR(FreeBits(k, 0.1)[0].item<double>(), kl, 1e-6);
  // unimix: 0.99 softmax + 0.01 / K, so every class keeps at least 0.01 / K
  const torch::Tensor logits = torch::tensor({{10.0f, -10.0f, 0.0f, 0.0f}});
  const torch::Tensor probs = Unimix(logits, 0.01);
  const torch::Tensor soft = torch::softmax(logits, -1);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(probs[0][i].item<float>(), 0.99f * soft[0][i].item<float>() + 0.0025f, 1e-7);
  EXPECT_GE(probs.min().item<float>(), 0.0025f - 1e-9f);
}

TEST(DreamerMath, StraightThroughSamplesOneHotWithTheProbsGradient) {
  const torch::Tensor logits = torch::tensor({{0.3f, -1.0f, 2.0f}}).requires_grad_(true);
  const torch::Tensor probs = torch::softmax(logits, -1);
  // u = 0.5 falls in the third class's share of the CDF (0.17 + 0.05 < 0.5)
  const torch::Tensor s = SampleStraightThrough(probs, torch::tensor({0.5f}));
  EXPECT_TRUE(torch::allclose(s.detach(), torch::tensor({{0.0f, 0.0f, 1.0f}})));
  const torch::Tensor w = torch::tensor({{1.0f, 2.0f, 3.0f}});
  (s * w).sum().backward();
  const torch::Tensor g = logits.grad().clone();
  logits.grad().zero_();
  (torch::softmax(logits, -1) * w).sum().backward();
  EXPECT_TRUE(torch::allclose(g, logits.grad()));
  EXPECT_GT(g.abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(SampleStraightThrough(probs, torch::tensor({0.0f})).detach(),
                           torch::tensor({{1.0f, 0.0f, 0.0f}})));
}

TEST(DreamerRssm, BlockLinearIsBlockDiagonalAndItsSharedFormAgrees) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  BlockLinear layer(4 * 5, 4 * 3, 4, gen);  // 4 blocks of 5 inputs -> 3 outputs
  torch::NoGradGuard no_grad;
  layer->named_parameters()["bias"].uniform_(-1, 1);
  const torch::Tensor x = torch::randn({6, 20});
  const torch::Tensor y = layer(x);
  const torch::Tensor w = layer->named_parameters()["weight"],
                      b = layer->named_parameters()["bias"];
  for (int64_t g = 0; g < 4; ++g) {  // block g reads inputs 5g..5g+4 only
    const torch::Tensor ref = x.slice(1, 5 * g, 5 * g + 5).mm(w[g]) + b.slice(0, 3 * g, 3 * g + 3);
    EXPECT_TRUE(torch::allclose(y.slice(1, 3 * g, 3 * g + 3), ref, 1e-5, 1e-5)) << g;
  }
  // block g's input [own_g (2), shared (3)]: the same as forward() of that concatenation
  const torch::Tensor own = torch::randn({6, 8}), shared = torch::randn({6, 3});
  std::vector<torch::Tensor> parts;
  for (int64_t g = 0; g < 4; ++g)
    parts.push_back(torch::cat({own.slice(1, 2 * g, 2 * g + 2), shared}, 1));
  EXPECT_TRUE(
      torch::allclose(layer->ForwardShared(own, shared), layer(torch::cat(parts, 1)), 1e-5, 1e-5));
}

// A batch of random sequences for a model with obs_dim 4 and 2 discrete actions.
Sequences RandomSequences(int64_t B, int64_t T) {
  torch::manual_seed(5);
  return {torch::randn({B, T, 4}), torch::one_hot(torch::randint(2, {B, T}), 2).to(torch::kFloat32),
          torch::rand({B, T}),     torch::zeros({B, T}),
          torch::zeros({B, T}),    torch::zeros({B, T})};
}

TEST(DreamerRssm, EpisodeStartZeroesStateAndPreviousAction) {
  Agent agent(TinyConfig(), {.vector = 4}, 2, true, 1);
  Sequences d = RandomSequences(3, 8);
  d.is_first.select(1, 3).fill_(1.0f);     // every sequence crosses into an episode at t = 3
  d.prev_action.select(1, 3).fill_(1.0f);  // stale data there must not reach the state
  const auto o = agent.Observe(d);
  auto& rssm = agent.world_model()->rssm;
  torch::NoGradGuard no_grad;
  const torch::Tensor fresh =
      rssm->Core(torch::zeros({3, rssm->deter_dim()}),
                 torch::zeros({3, rssm->stoch(), rssm->classes()}), torch::zeros({3, 2}));
  EXPECT_TRUE(torch::allclose(o.deter.select(1, 3), fresh, 0, 0));
  // the step before is not a reset: its state depends on the data
  EXPECT_FALSE(torch::allclose(o.deter.select(1, 2), fresh));
  // without the mark, t = 3 continues the earlier episode
  d.is_first.zero_();
  EXPECT_FALSE(torch::allclose(agent.Observe(d).deter.select(1, 3), fresh));
}

TEST(DreamerAgent, ActorCriticLossesSendNoGradientIntoTheWorldModel) {
  Agent agent(TinyConfig(), {.vector = 4}, 2, true, 1);
  const auto o = agent.Observe(RandomSequences(2, 6));
  const auto im = agent.ImagineLoss(o.deter.reshape({12, -1}), o.stoch.reshape({12, 8, 4}));
  (im.policy_loss + im.value_loss).backward();
  for (const auto& p : agent.world_model()->parameters())
    EXPECT_TRUE(!p.grad().defined() || p.grad().abs().sum().item<float>() == 0.0f);
  double actor = 0;
  for (const auto& p : agent.actor()->parameters())
    if (p.grad().defined()) actor += p.grad().abs().sum().item<double>();
  EXPECT_GT(actor, 0.0);  // the loss does train the actor
  // and the world-model loss does reach the world model
  o.loss.backward();
  double wm = 0;
  for (const auto& p : agent.world_model()->parameters())
    if (p.grad().defined()) wm += p.grad().abs().sum().item<double>();
  EXPECT_GT(wm, 0.0);
}

TEST(DreamerOptimizer, LaPropWithAgcAndWarmupMatchesAScalarLoop) {
  torch::Tensor p = torch::tensor({0.5f, -0.2f, 0.1f}).requires_grad_(false);
  torch::Tensor q = torch::tensor({1e-5f, 0.0f});  // tiny parameters: AGC's floor of 1e-3
  Optimizer opt({{"p", p}, {"q", q}}, {true, 0.1, 1e-20, 0.3, 0.0, 2});
  std::vector<double> P = {0.5, -0.2, 0.1}, Q = {1e-5, 0.0};
  std::vector<double> mp(3), vp(3), mq(2), vq(2);
  const std::vector<std::vector<double>> grads = {
      {1.0, -2.0, 0.5, 0.3, -0.1}, {-0.5, 0.1, 0.2, 0.0, 0.4}, {0.2, 0.2, -1.0, 1.0, 1.0}};
  for (size_t step = 0; step < grads.size(); ++step) {
    const auto& g = grads[step];
    p.mutable_grad() = torch::tensor({g[0], g[1], g[2]}).to(torch::kFloat32);
    q.mutable_grad() = torch::tensor({g[3], g[4]}).to(torch::kFloat32);
    opt.Step();
    const double t = static_cast<double>(step + 1);
    const double lr = 0.1 * std::min(1.0, (t - 1) / 2.0);
    auto reference = [&](std::vector<double>& x, std::vector<double> gx, std::vector<double>& m,
                         std::vector<double>& v) {
      double gn = 0, xn = 0;
      for (size_t i = 0; i < x.size(); ++i) gn += gx[i] * gx[i], xn += x[i] * x[i];
      const double limit = 0.3 * std::max(1e-3, std::sqrt(xn));
      const double shrink = std::max(1.0, std::sqrt(gn) / limit);
      for (size_t i = 0; i < x.size(); ++i) {
        const double gi = gx[i] / shrink;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const double scaled = gi / (std::sqrt(v[i] / (1 - std::pow(0.999, t))) + 1e-20);
        m[i] = 0.9 * m[i] + 0.1 * scaled;
        x[i] -= lr * m[i] / (1 - std::pow(0.9, t));
      }
    };
    reference(P, {g[0], g[1], g[2]}, mp, vp);
    reference(Q, {g[3], g[4]}, mq, vq);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i].item<double>(), P[i], 1e-6) << step;
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(q[i].item<double>(), Q[i], 1e-6) << step;
  }
  EXPECT_NE(P[0], 0.5);  // the steps after warmup's first moved it
}

TEST(DreamerAgent, The2023RecipeHasThreeAdamsAndItsKnobs) {
  Agent agent(
      TinyConfig({"dreamer.optimizer=adam", "dreamer.contdisc=false", "dreamer.twohot=symlog",
                  "dreamer.repval_scale=0", "dreamer.dyn_scale=0.5"}),
      {.vector = 4}, 2, true, 1);
  const auto m = agent.Train(RandomSequences(2, 6));
  for (const char* group : {"model", "actor", "critic"})
    EXPECT_GT(m.at(std::string("opt/") + group + "/update_rms"), 0.0) << group;
  EXPECT_EQ(m.count("opt/grad_norm"), 0u);
  EXPECT_EQ(m.at("loss/repval"), 0.0);
  Agent laprop(TinyConfig(), {.vector = 4}, 2, true, 1);
  const auto l = laprop.Train(RandomSequences(2, 6));
  EXPECT_GT(l.at("opt/grad_norm"), 0.0);
  EXPECT_EQ(l.at("opt/update_rms"), 0.0);  // the first warmup step has learning rate 0
  EXPECT_GT(l.at("loss/repval"), 0.0);
}

TEST(DreamerConfig, BadInputNamesTheKey) {
  const auto& info = algos::Find("dreamer");
  const train::TrainConfig c = train::LoadConfig("", Tiny());
  EXPECT_NE(ErrorOf([&] {
              info.validate(c, Space::Discrete(16), Space::Discrete(4), 100);
            }).find("env.id: algo: dreamer needs a Box observation space"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              info.validate(c, Space::Box(-1, 1, {4}), Space::MultiDiscrete({3, 3}), 100);
            }).find("env.id: algo: dreamer needs a Discrete or bounded Box action space"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Tiny({"dreamer.train_ratio=0"}));
            }).find("dreamer.train_ratio"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              train::LoadConfig("", Tiny({"dreamer.size=size3m"}));
            }).find("dreamer.size: unknown preset \"size3m\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([] { train::LoadConfig("", Tiny({"dreamer.blocks=5"})); }).find("dreamer.blocks"),
      std::string::npos);
}

// Steps of CartPole under random actions, cut into B sequences of T steps as the run stores them.
Sequences CartPoleSequences(int64_t B, int64_t T, uint64_t seed) {
  auto env = env::Make("CartPole-v1");
  Rng rng(seed);
  std::vector<float> obs(4);
  env->Reset(seed, obs.data());
  Sequences d{torch::zeros({B, T, 4}), torch::zeros({B, T, 2}), torch::zeros({B, T}),
              torch::zeros({B, T}),    torch::zeros({B, T}),    torch::zeros({B, T})};
  bool first = true, pending_last = false, terminal = false;
  float reward = 0;
  int64_t action = -1;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int k = 0; k < 4; ++k) d.obs[b][t][k] = obs[k];
      if (action >= 0 && !first) d.prev_action[b][t][action] = 1.0f;
      d.reward[b][t] = reward;
      d.is_first[b][t] = first ? 1.0f : 0.0f;
      d.is_last[b][t] = pending_last ? 1.0f : 0.0f;
      d.is_terminal[b][t] = terminal ? 1.0f : 0.0f;
      if (pending_last) {  // the next row starts a new episode
        env->Reset(std::nullopt, obs.data());
        first = true, pending_last = terminal = false, reward = 0, action = -1;
        continue;
      }
      action = rng.Integers(2);
      std::vector<int64_t> a = {action};
      const auto r = env->Step({a, {}}, obs.data());
      first = false;
      reward = static_cast<float>(r.reward);
      pending_last = r.terminated || r.truncated;
      terminal = r.terminated;
    }
  }
  return d;
}

TEST(DreamerSmoke, RewardAndContinueLossesHalveWithin300Updates) {
  Agent agent(TinyConfig({"dreamer.lr=3e-4", "dreamer.warmup=10"}), {.vector = 4}, 2, true, 1);
  std::vector<Sequences> data;
  for (uint64_t s = 0; s < 8; ++s) data.push_back(CartPoleSequences(8, 16, s));
  std::map<std::string, double> first, last;
  for (int u = 0; u < 300; ++u) {
    const auto m = agent.Train(data[static_cast<size_t>(u) % data.size()]);
    for (const char* key : {"loss/rew", "loss/con", "loss/dec"}) {
      if (u < 10) first[key] += m.at(key) / 10;
      if (u >= 290) last[key] += m.at(key) / 10;
    }
  }
  EXPECT_LT(last["loss/rew"], 0.5 * first["loss/rew"]);
  EXPECT_LT(last["loss/con"], 0.5 * first["loss/con"]);
  EXPECT_LT(last["loss/dec"], first["loss/dec"]);
}

TEST(DreamerRun, SameSeedSameWeightsAndResumeEqualsUninterrupted) {
  const fs::path a = TempPath("a"), b = TempPath("b"), c = TempPath("c");
  const auto config =
      train::LoadConfig("", Tiny({"total_timesteps=400", "dreamer.prefill=150",
                                  "dreamer.train_ratio=64", "checkpoint.every_steps=200",
                                  "checkpoint.save_replay_buffer=true", "eval.every_steps=0"}));
  train::Train(config, a.string());
  train::Train(config, b.string());
  train::Train(config, c.string(), false, 200);
  train::Train(train::TrainConfig{}, c.string(), /*resume=*/true);
  const auto pa = train::CheckpointParameters((a / "checkpoints/latest.safetensors").string());
  const auto pb = train::CheckpointParameters((b / "checkpoints/latest.safetensors").string());
  const auto pc = train::CheckpointParameters((c / "checkpoints/latest.safetensors").string());
  ASSERT_GT(pa.tensors().size(), 20u);
  for (const auto& [name, t] : pa.tensors()) {
    EXPECT_EQ(t.bytes, pb.Get(name).bytes) << name;
    EXPECT_EQ(t.bytes, pc.Get(name).bytes) << name;
  }
  // it trained: the reward head's output layer left its zero start
  const auto& w = pa.Get("world_model.reward.out.weight");
  const float* v = w.as<float>();
  EXPECT_TRUE(std::any_of(v, v + w.numel(), [](float x) { return x != 0.0f; }));
  for (const auto& p : {a, b, c}) fs::remove_all(p);
}

}  // namespace
}  // namespace rlforge::dreamer
