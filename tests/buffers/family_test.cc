// Returns helpers and the buffer family built on FlexibleBuffer storage.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "rlforge/buffers/preference_buffer.h"
#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/buffers/returns.h"
#include "rlforge/buffers/rollout_buffer.h"
#include "rlforge/buffers/sequence_buffer.h"
#include "rlforge/buffers/sum_tree.h"
#include "rlforge/core/error.h"
#include "test_util.h"

namespace rlforge::buffers {
namespace {

using rlforge::testing::ErrorOf;

// rewards 1, 2, 3, 4; the episode terminates after step 1; gamma 0.5; last value 10.
const std::vector<float> kRewards = {1, 2, 3, 4};
const std::vector<uint8_t> kTerminated = {0, 1, 0, 0};

TEST(Returns, DiscountedReturnsByHand) {
  std::vector<float> g(4);
  DiscountedReturns({kRewards, kTerminated, {}, {}}, 10.0f, 0.5f, g);
  // G3 = 4 + .5*10 = 9; G2 = 3 + .5*9 = 7.5; G1 = 2 (terminal); G0 = 1 + .5*2 = 2
  EXPECT_EQ(g, (std::vector<float>{2.0f, 2.0f, 7.5f, 9.0f}));
  // truncation after step 2 bootstraps from V(final obs) = 6 instead of G3
  const std::vector<uint8_t> truncated = {0, 0, 1, 0};
  const std::vector<float> final_values = {0, 0, 6, 0};
  DiscountedReturns({kRewards, kTerminated, truncated, final_values}, 10.0f, 0.5f, g);
  EXPECT_EQ(g[2], 3.0f + 0.5f * 6.0f);
  EXPECT_EQ(g[3], 9.0f);
}

TEST(Returns, GaeByHand) {
  const std::vector<float> values = {0.5f, 1.0f, 2.0f, 3.0f};
  std::vector<float> adv(4), ret(4);
  Gae({kRewards, kTerminated, {}, {}}, values, 10.0f, 0.5f, 0.5f, adv, ret);
  // deltas: d3 = 4 + 5 - 3 = 6; d2 = 3 + .5*3 - 2 = 2.5; d1 = 2 - 1 = 1 (terminal); d0 = 1 + .5 -
  // .5 = 1 A3 = 6; A2 = 2.5 + .25*6 = 4; A1 = 1; A0 = 1 + .25*1 = 1.25
  EXPECT_EQ(adv, (std::vector<float>{1.25f, 1.0f, 4.0f, 6.0f}));
  EXPECT_EQ(ret, (std::vector<float>{1.75f, 2.0f, 6.0f, 9.0f}));
  // lambda = 1 gives returns equal to discounted returns
  std::vector<float> g(4);
  Gae({kRewards, kTerminated, {}, {}}, values, 10.0f, 0.5f, 1.0f, adv, ret);
  DiscountedReturns({kRewards, kTerminated, {}, {}}, 10.0f, 0.5f, g);
  EXPECT_EQ(ret, g);
}

TEST(Returns, KStepTdByHand) {
  const std::vector<float> values = {0.5f, 1.0f, 2.0f, 3.0f};
  std::vector<float> td(4);
  KStepTd({kRewards, kTerminated, {}, {}}, values, 10.0f, 0.5f, 2, td);
  // t0: 1 + .5*2, then terminal -> 2; t1: 2 (terminal); t2: 3 + .5*4 + .25*10 = 7.5; t3: 4 + .5*10
  // = 9
  EXPECT_EQ(td, (std::vector<float>{2.0f, 2.0f, 7.5f, 9.0f}));
  KStepTd({kRewards, std::vector<uint8_t>(4, 0), {}, {}}, values, 10.0f, 0.5f, 1, td);
  EXPECT_EQ(td, (std::vector<float>{1.5f, 3.0f, 4.5f, 9.0f}));  // one-step TD
  EXPECT_THROW(KStepTd({kRewards, kTerminated, {}, {}}, values, 0.0f, 0.5f, 0, td), Error);
  EXPECT_THROW(DiscountedReturns({kRewards, std::vector<uint8_t>(3), {}, {}}, 0.0f, 0.5f, td),
               Error);
}

TEST(ReplayBuffer, NStepReturnsStopAtEpisodeEnds) {
  ReplaySpec spec;
  spec.capacity = 100;
  spec.obs_dim = 1;
  spec.num_discrete = 1;
  spec.n_step = 3;
  spec.gamma = 0.5f;
  ReplayBuffer buf(spec, 2);
  // steps 0..9, reward = step, obs = step, next_obs = step + 1; terminal after step 4
  for (int t = 0; t < 10; ++t) {
    const float obs = t, next = t + 1, r = t;
    const int64_t a = t % 2;
    const uint8_t term = t == 4, trunc = 0;
    buf.Add({&obs, 1}, {&next, 1}, {&a, 1}, {}, {&r, 1}, {&term, 1}, {&trunc, 1});
  }
  Batch batch;
  buf.Sample(400, &batch);
  for (int64_t b = 0; b < 400; ++b) {
    const int t = static_cast<int>(batch["obs"].as<float>()[b]);
    const int end = std::min({t + 2, t <= 4 ? 4 : 9});  // last step of the window
    float expected = 0.0f, discount = 1.0f;
    for (int k = t; k <= end; ++k, discount *= 0.5f) expected += discount * k;
    EXPECT_EQ(batch["rewards"].as<float>()[b], expected) << t;
    EXPECT_EQ(batch["next_obs"].as<float>()[b], end + 1.0f) << t;
    EXPECT_EQ(batch["discounts"].as<float>()[b], end == 4 ? 0.0f : discount) << t;
    EXPECT_EQ(batch["discrete_actions"].as<int64_t>()[b], t % 2);
  }
  ReplaySpec bad = spec;
  bad.obs_dim = 0;
  EXPECT_THROW(ReplayBuffer(bad, 0), Error);
  ReplayBuffer empty(spec, 0);
  EXPECT_NE(ErrorOf([&] { empty.Sample(1, &batch); }).find("before any transition"),
            std::string::npos);
}

TEST(ReplayBuffer, EnvStreamsStaySeparate) {
  ReplaySpec spec;
  spec.capacity = 40;
  spec.num_envs = 4;
  spec.obs_dim = 1;
  spec.num_continuous = 1;
  spec.n_step = 2;
  spec.gamma = 1.0f;
  ReplayBuffer buf(spec, 3);
  for (int t = 0; t < 30; ++t) {  // env e: obs = 1000 e + t, reward = e
    std::vector<float> obs, next, act, rew;
    for (int e = 0; e < 4; ++e) {
      obs.push_back(1000.0f * e + t);
      next.push_back(1000.0f * e + t + 1);
      act.push_back(0.5f * e);
      rew.push_back(static_cast<float>(e));
    }
    const std::vector<uint8_t> no(4, 0);
    buf.Add(obs, next, {}, act, rew, no, no);
  }
  EXPECT_EQ(buf.size(), 40);
  Batch batch;
  buf.Sample(200, &batch);
  for (int64_t b = 0; b < 200; ++b) {
    const float o = batch["obs"].as<float>()[b];
    const int e = static_cast<int>(o / 1000);
    EXPECT_GE(o - 1000.0f * e, 20.0f);  // only the newest 10 steps per env are stored
    EXPECT_EQ(batch["continuous_actions"].as<float>()[b], 0.5f * e);
    const bool newest = o - 1000.0f * e == 29.0f;  // no successor stored: a 1-step window
    EXPECT_EQ(batch["rewards"].as<float>()[b], newest ? e : 2.0f * e);
    EXPECT_EQ(batch["next_obs"].as<float>()[b], o + (newest ? 1.0f : 2.0f));
  }
}

TEST(RolloutBuffer, GaePerEnvWithTruncationBootstrap) {
  RolloutBuffer buf(4, 2, 1, 1, 0);
  // env 0 is the hand-computed stream of the Returns tests; env 1 is truncated after step 2
  for (int t = 0; t < 4; ++t) {
    const std::vector<float> obs = {static_cast<float>(t), static_cast<float>(10 + t)};
    const std::vector<int64_t> act = {0, 1};
    const std::vector<float> logp = {-0.5f, -0.7f};
    const std::vector<float> values = {std::vector<float>{0.5f, 1.0f, 2.0f, 3.0f}[t], 1.0f};
    const std::vector<float> rewards = {kRewards[t], 1.0f};
    const std::vector<uint8_t> term = {kTerminated[t], 0}, trunc = {0, t == 2};
    const std::vector<float> final_values = {0.0f, t == 2 ? 4.0f : 0.0f};
    buf.Add(obs, act, {}, logp, values, rewards, term, trunc, final_values);
  }
  EXPECT_TRUE(buf.full());
  const std::vector<float> last = {10.0f, 1.0f};
  buf.ComputeReturnsAndAdvantages(last, 0.5f, 0.5f);
  const auto& adv = buf.advantages();  // (T x N)
  EXPECT_EQ(adv[0 * 2], 1.25f);
  EXPECT_EQ(adv[2 * 2], 4.0f);
  EXPECT_EQ(adv[3 * 2], 6.0f);
  // env 1: d3 = 1 + .5 - 1 = .5; d2 = 1 + .5*4 - 1 = 2 (truncated: V(final obs)); A2 = 2 (chain
  // cut)
  EXPECT_EQ(adv[3 * 2 + 1], 0.5f);
  EXPECT_EQ(adv[2 * 2 + 1], 2.0f);
  EXPECT_EQ(adv[1 * 2 + 1], 0.5f + 0.25f * 2.0f);
  Batch mb;
  buf.Minibatch(std::vector<int64_t>{5, 0}, &mb);  // row 5 = step 2, env 1
  EXPECT_EQ(mb["obs"].as<float>()[0], 12.0f);
  EXPECT_EQ(mb["advantages"].as<float>()[0], 2.0f);
  EXPECT_EQ(mb["returns"].as<float>()[0], 3.0f);
  EXPECT_EQ(mb["discrete_actions"].as<int64_t>()[0], 1);
  EXPECT_EQ(mb["log_probs"].as<float>()[1], -0.5f);
  EXPECT_THROW(buf.Add({}, {}, {}, {}, {}, {}, {}, {}, {}), Error);  // full
  buf.Reset();
  EXPECT_THROW(buf.Add(std::vector<float>{1.0f}, {}, {}, {}, {}, {}, {}, {}, {}),
               Error);  // wrong width
}

TEST(SequenceBuffer, SequencesMarkEpisodeStarts) {
  // env e: obs = 100 e + t, episodes of length 7 (is_first at t % 7 == 0)
  auto filled = [] {
    SequenceBuffer buf(30, 2, {{"obs", Scope::kPerAgent, {1}, DType::kFloat32}}, 4);
    for (int t = 0; t < 50; ++t) {
      const std::vector<float> obs = {static_cast<float>(t), 100.0f + t};
      buf.Set<float>("obs", obs);
      const std::vector<uint8_t> first(2, t % 7 == 0), terminal(2, t % 7 == 6);
      buf.Add(first, terminal);
    }
    return buf;
  };
  SequenceBuffer buf = filled();
  Batch batch;
  buf.Sample(64, 8, &batch);
  ASSERT_EQ(batch["obs"].shape, (std::vector<int64_t>{64, 8, 1}));
  int crossings = 0;
  for (int64_t b = 0; b < 64; ++b) {
    const float o0 = batch["obs"].as<float>()[b * 8];
    const int env = o0 >= 100.0f ? 1 : 0;
    for (int64_t t = 0; t < 8; ++t) {
      const float o = batch["obs"].as<float>()[b * 8 + t];
      EXPECT_EQ(o, o0 + t);  // consecutive steps of one env
      const int step = static_cast<int>(o) - 100 * env;
      EXPECT_GE(step, 20);
      EXPECT_EQ(batch["is_first"].as<uint8_t>()[b * 8 + t], step % 7 == 0);
      crossings += t > 0 && step % 7 == 0;
    }
  }
  EXPECT_GT(crossings, 0);  // boundaries inside sequences are marked
  EXPECT_THROW(buf.Sample(1, 31, &batch), Error);

  // with a generator of the caller's: its draws alone decide the batch, and the buffer's own
  // generator is left alone (a twin buffer without those calls samples the same next batch)
  SequenceBuffer twin = filled();
  twin.Sample(64, 8, &batch);  // the twin's generator where buf's is now
  Rng first(11), again(11), other(12);
  Batch a, b, c, next_buf, next_twin;
  buf.Sample(16, 8, &a, first);
  buf.Sample(16, 8, &b, again);
  buf.Sample(16, 8, &c, other);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_NE(a.indices, c.indices);
  buf.Sample(16, 8, &next_buf);
  twin.Sample(16, 8, &next_twin);
  EXPECT_EQ(next_buf.indices, next_twin.indices);
}

TEST(PreferenceBuffer, FifoLabelsSkipsAndSplits) {
  SegmentSpec spec{3, 2, 1, 2};
  PreferenceBuffer buf(5, spec, 0.4, 6);
  for (int i = 0; i < 7; ++i) {  // item i: obs filled with i; item 3 is skipped
    const std::vector<float> obs(2 * 3 * 2, static_cast<float>(i)), act(2 * 3 * 1, 0.5f);
    const std::vector<double> states(2 * 3 * 2, i + 0.25);
    buf.Add(obs, act, states, i == 3 ? PreferenceBuffer::kSkip : (i % 2 ? 1.0f : 0.5f));
  }
  EXPECT_EQ(buf.size(), 5);          // items 2..6 (FIFO)
  EXPECT_EQ(buf.num_labelled(), 4);  // item 3 skipped
  Batch batch;
  auto items = [&](PreferenceBuffer::Split split) {
    std::vector<int> out;
    const auto rows = buf.Rows(split);
    buf.Gather(rows, &batch);
    for (size_t k = 0; k < rows.size(); ++k)
      out.push_back(static_cast<int>(batch["obs"].as<float>()[k * 6]));
    return out;
  };
  EXPECT_EQ(items(PreferenceBuffer::Split::kTrain), (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(items(PreferenceBuffer::Split::kValidation), (std::vector<int>{6}));
  buf.Sample(10, PreferenceBuffer::Split::kTrain, &batch);
  EXPECT_EQ(batch["label"].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(batch["obs"].shape, (std::vector<int64_t>{2, 3, 3, 2}));
  EXPECT_EQ(batch["states"].dtype, DType::kFloat64);
  std::set<float> labels(batch["label"].as<float>(), batch["label"].as<float>() + 3);
  EXPECT_EQ(labels, (std::set<float>{0.5f, 1.0f}));
  const std::vector<float> obs(12), act(6);
  const std::vector<double> states(12);
  EXPECT_NE(ErrorOf([&] { buf.Add(obs, act, states, 0.3f); }).find("expected 0, 0.5, 1 or skip"),
            std::string::npos);
  // save and load keep the items
  const auto dir =
      std::filesystem::temp_directory_path() / ("rlforge_pref_" + std::to_string(::getpid()));
  buf.Save(dir.string());
  PreferenceBuffer loaded(5, spec, 0.4, 6);
  loaded.LoadInto(dir.string());
  EXPECT_EQ(loaded.Rows(PreferenceBuffer::Split::kAll), buf.Rows(PreferenceBuffer::Split::kAll));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rlforge::buffers

namespace rlforge::buffers {
namespace {

TEST(ReplayBuffer, ScaleRewardsMultipliesEveryStoredReward) {
  ReplaySpec spec;
  spec.capacity = 10;
  spec.num_envs = 2;
  spec.obs_dim = 1;
  spec.num_continuous = 1;
  ReplayBuffer buf(spec, 1);
  for (int t = 0; t < 7; ++t) {  // reward = 10 t + env
    const std::vector<float> obs{float(t), float(t)}, act{0, 0}, rew{10.0f * t, 10.0f * t + 1};
    const std::vector<uint8_t> no(2, 0);
    buf.Add(obs, obs, {}, act, rew, no, no);
  }
  buf.ScaleRewards(-0.5f);
  Batch batch;
  buf.Sample(100, &batch);
  for (int64_t b = 0; b < 100; ++b) {
    const float t = batch["obs"].as<float>()[b];
    const float r = batch["rewards"].as<float>()[b];
    EXPECT_TRUE(r == -5.0f * t || r == -5.0f * t - 0.5f) << t << " " << r;
  }
}

TEST(SumTree, FindManyDescendsLikeFindOneAtATime) {
  for (const int64_t n : {1, 9, 100, 5000}) {
    SumTree tree(n);
    Rng rng(static_cast<uint64_t>(n));
    for (int64_t i = 0; i < n; ++i) tree.Set(i, i % 5 == 1 ? 0.0 : rng.Uniform(0, 2));
    std::vector<double> u(301), copy;
    for (double& x : u) x = rng.Random() * tree.Total();
    u.back() = tree.Total() * (1 - 1e-16);  // the far edge
    copy = u;
    std::vector<int64_t> rows(u.size());
    tree.FindMany(copy, rows);
    for (size_t k = 0; k < u.size(); ++k) {
      EXPECT_EQ(rows[k], tree.Find(u[k])) << n << " " << u[k];
      EXPECT_GT(tree.Get(rows[k]), 0.0);
    }
  }
}

TEST(SumTree, FindsByCumulativeWeight) {
  SumTree tree(20);
  for (int i = 0; i < 20; ++i) tree.Set(i, i % 3 == 0 ? 0.0 : 1.0 + i);
  double total = 0.0;
  for (int i = 0; i < 20; ++i) total += tree.Get(i);
  EXPECT_DOUBLE_EQ(tree.Total(), total);
  // walking u across [0, total) visits every positive leaf in order, never a zero one
  double cumulative = 0.0;
  for (int i = 0; i < 20; ++i) {
    if (tree.Get(i) == 0.0) continue;
    EXPECT_EQ(tree.Find(cumulative), i);
    EXPECT_EQ(tree.Find(cumulative + tree.Get(i) * 0.999), i);
    cumulative += tree.Get(i);
  }
  EXPECT_EQ(tree.Find(total * (1 - 1e-15)), 19);
  tree.Clear();
  EXPECT_EQ(tree.Total(), 0.0);
}

TEST(SumTree, BuildGivesTheSameTreeAsSettingEachLeaf) {
  for (const int64_t n : {1, 7, 8, 9, 64, 100, 1000, 4097}) {
    Rng rng(static_cast<uint64_t>(n));
    std::vector<float> w(static_cast<size_t>(n));
    for (float& x : w) x = static_cast<float>(rng.Uniform(0, 3));
    SumTree one_by_one(n + 5), built(n + 5);
    for (int64_t i = 0; i < n; ++i) one_by_one.Set(i, w[i]);
    built.Set(n + 2, 9.0);  // Build starts from scratch
    built.Build(w);
    EXPECT_EQ(built.Total(), one_by_one.Total()) << n;
    for (int64_t i = 0; i < n + 5; ++i) EXPECT_EQ(built.Get(i), one_by_one.Get(i)) << n;
    for (double u = 0; u < built.Total(); u += built.Total() / 97)
      EXPECT_EQ(built.Find(u), one_by_one.Find(u)) << n << " " << u;
  }
}

}  // namespace
}  // namespace rlforge::buffers
