#include "rlforge/buffers/flexible_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "rlforge/core/error.h"
#include "test_util.h"

namespace rlforge::buffers {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;

// Writes transition `step` with values derived from it, so a reference model is just arithmetic:
// obs[a] = {100 a + step, -step}, global_rewards = step, discrete_actions[a] = step % 3.
void Write(FlexibleBuffer& buf, int64_t step, bool terminated = false, bool truncated = false) {
  const int n = buf.n_agents();
  std::vector<float> obs, obs_next;
  std::vector<int64_t> act;
  for (int a = 0; a < n; ++a) {
    obs.insert(obs.end(), {100.0f * a + step, -static_cast<float>(step)});
    obs_next.insert(obs_next.end(), {100.0f * a + step + 1, -static_cast<float>(step + 1)});
    act.push_back(step % 3);
  }
  const float reward = static_cast<float>(step);
  buf.Set("obs", obs);
  buf.Set("obs_", obs_next);
  buf.Set("discrete_actions", act);
  buf.Set<float>("global_rewards", std::span<const float>(&reward, 1));
  buf.SaveTransition(terminated, truncated);
}

StandardFields Small() {
  StandardFields s;
  s.obs_size = 2;
  s.discrete_action_cardinalities = {3};
  s.global_reward = true;
  return s;
}

TEST(FlexibleBuffer, StandardFieldsUseFlexibuffNamesAndShapes) {
  StandardFields s;
  s.obs_size = 32;
  s.state_size = 64;
  s.discrete_action_cardinalities = {3, 5};
  s.continuous_action_dimension = 4;
  s.action_mask = true;
  s.global_reward = s.global_auxiliary_reward = s.individual_reward =
      s.individual_auxiliary_reward = true;
  s.log_prob_discrete = true;
  s.log_prob_continuous = 2;
  s.memory_weights = true;
  FlexibleBuffer buf(10, 4, s);
  std::set<std::string> names;
  for (const auto& f : buf.fields()) names.insert(f.name);
  for (const char* n :
       {"obs", "obs_", "state", "state_", "discrete_actions", "continuous_actions",
        "discrete_log_probs", "continuous_log_probs", "global_rewards", "global_auxiliary_rewards",
        "individual_rewards", "individual_auxiliary_rewards", "action_mask0", "action_mask_1",
        "memory_weights", "terminated", "truncated"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_EQ(buf.fields()[buf.FieldId("action_mask1")].shape, (std::vector<int64_t>{5}));
  EXPECT_EQ(buf.fields()[buf.FieldId("state")].scope, Scope::kGlobal);
  EXPECT_EQ(buf.fields()[buf.FieldId("individual_rewards")].scope, Scope::kPerAgent);
}

TEST(FlexibleBuffer, BadSchemaAndBadValuesAreClearErrors) {
  EXPECT_NE(ErrorOf([] { FlexibleBuffer(0, 1, Small()); }).find("num_steps"), std::string::npos);
  EXPECT_NE(ErrorOf([] {
              FlexibleBuffer(5, 1, {{"x", Scope::kGlobal, {}}, {"x", Scope::kGlobal, {}}});
            }).find("registered twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              FlexibleBuffer(5, 1, {{"bad/name", Scope::kGlobal, {}}});
            }).find("field name"),
            std::string::npos);
  FlexibleBuffer buf(5, 2, Small());
  EXPECT_NE(
      ErrorOf([&] { buf.FieldId("reward"); }).find("unknown field 'reward' (fields: obs, obs_"),
      std::string::npos);
  const std::vector<float> three = {1, 2, 3};
  EXPECT_NE(ErrorOf([&] {
              buf.Set("obs", three);
            }).find("field 'obs': expected 4 values (2 agents x (2,)), got 3"),
            std::string::npos);
  const std::vector<double> wrong_type = {1, 2, 3, 4};
  EXPECT_NE(
      ErrorOf([&] { buf.Set("obs", wrong_type); }).find("expected float32 values, got float64"),
      std::string::npos);
  const std::vector<float> four = {1, 2, 3, 4};
  buf.Set("obs", four);
  EXPECT_NE(ErrorOf([&] { buf.SaveTransition(false); }).find("no value given for field 'obs_'"),
            std::string::npos);
  EXPECT_EQ(buf.size(), 0);  // nothing was written
  Write(buf, 0);             // and the staging was cleared, so a full transition still works
  EXPECT_EQ(buf.size(), 1);
}

TEST(FlexibleBuffer, RingWrapKeepsTheNewestSteps) {
  FlexibleBuffer buf(7, 1, Small());
  for (int64_t t = 0; t < 20; ++t) Write(buf, t);
  EXPECT_EQ(buf.size(), 7);
  EXPECT_EQ(buf.total_steps(), 20);
  EXPECT_EQ(buf.next_index(), 20 % 7);
  Batch batch;
  const std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6};
  buf.SampleTransitions(rows, &batch);
  for (int64_t r = 0; r < 7; ++r) {
    // reference: row r holds the newest step t with t % 7 == r
    const int64_t t = 13 + ((r - 13 % 7) + 7) % 7;
    EXPECT_EQ(batch["global_rewards"].as<float>()[r], static_cast<float>(t)) << r;
    EXPECT_EQ(batch["obs"].as<float>()[2 * r + 1], -static_cast<float>(t));
  }
  EXPECT_THROW(buf.SampleTransitions(std::vector<int64_t>{7}, &batch), Error);
}

TEST(FlexibleBuffer, AgentsStaySynchronizedInSamples) {
  FlexibleBuffer buf(50, 3, Small(), 7);
  for (int64_t t = 0; t < 80; ++t) Write(buf, t);
  Batch batch;
  buf.SampleTransitions(16, false, &batch);
  const auto& obs = batch["obs"];
  ASSERT_EQ(obs.shape, (std::vector<int64_t>{3, 16, 2}));
  ASSERT_EQ(batch["global_rewards"].shape, (std::vector<int64_t>{16}));
  ASSERT_EQ(batch["discrete_actions"].shape, (std::vector<int64_t>{3, 16, 1}));
  std::set<int64_t> seen;
  for (int64_t b = 0; b < 16; ++b) {
    const float step = batch["global_rewards"].as<float>()[b];
    EXPECT_GE(step, 30.0f);  // only the newest 50 are stored
    for (int a = 0; a < 3; ++a) {
      EXPECT_EQ(obs.as<float>()[(a * 16 + b) * 2], 100.0f * a + step);
      EXPECT_EQ(batch["obs_"].as<float>()[(a * 16 + b) * 2 + 1], -(step + 1));
      EXPECT_EQ(batch["discrete_actions"].as<int64_t>()[a * 16 + b],
                static_cast<int64_t>(step) % 3);
    }
    seen.insert(batch.indices[b]);
  }
  EXPECT_EQ(seen.size(), 16u);  // without replacement
  buf.SampleTransitions(500, false, &batch);
  EXPECT_EQ(batch["global_rewards"].shape[0], 50);  // capped at the stored size
  EXPECT_EQ(std::set<int64_t>(batch.indices.begin(), batch.indices.end()).size(), 50u);
}

TEST(FlexibleBuffer, WeightedSamplingFollowsTheWeights) {
  StandardFields s = Small();
  s.memory_weights = true;
  FlexibleBuffer buf(10, 1, s, 3);
  const int id = buf.FieldId("memory_weights");
  for (int64_t t = 0; t < 10; ++t) {
    const float w = static_cast<float>(t % 5);  // rows 0 and 5 have weight 0
    buf.Set<float>(id, std::span<const float>(&w, 1));
    Write(buf, t);
  }
  // chi-square goodness of fit over 20000 single draws (8 categories with weight > 0)
  std::vector<int> counts(10, 0);
  Batch batch;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    buf.SampleTransitions(1, true, &batch);
    ++counts[batch.indices[0]];
  }
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[5], 0);
  double chi2 = 0.0;
  for (int r = 0; r < 10; ++r) {
    if (r % 5 == 0) continue;
    const double expected = draws * (r % 5) / 20.0;
    chi2 += (counts[r] - expected) * (counts[r] - expected) / expected;
  }
  EXPECT_LT(chi2, 24.32);  // 99.9% quantile, 7 degrees of freedom
  // a batch of 8 without replacement takes every positive row once
  buf.SampleTransitions(8, true, &batch);
  EXPECT_EQ(std::set<int64_t>(batch.indices.begin(), batch.indices.end()).size(), 8u);
  EXPECT_NE(ErrorOf([&] { buf.SampleTransitions(9, true, &batch); }).find("fewer than 9 rows"),
            std::string::npos);
  // prioritized replay: update by index
  const std::vector<int64_t> rows = {1, 2, 3, 4, 6, 7, 8, 9};
  buf.UpdateWeights(rows, std::vector<double>(8, 0.0));
  buf.UpdateWeights(std::vector<int64_t>{5}, std::vector<double>{2.5});
  for (int i = 0; i < 20; ++i) {
    buf.SampleTransitions(1, true, &batch);
    EXPECT_EQ(batch.indices[0], 5);
  }
  EXPECT_THROW(buf.UpdateWeights(std::vector<int64_t>{1}, std::vector<double>{-1.0}), Error);
  EXPECT_THROW(buf.UpdateWeights(std::vector<int64_t>{10}, std::vector<double>{1.0}), Error);
  // very skewed weights: rejection alone cannot find distinct rows fast, the fallback does
  std::vector<double> skewed(10, 1e-9);
  skewed[0] = 1e9;
  buf.UpdateWeights(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, skewed);
  buf.SampleTransitions(10, true, &batch);
  EXPECT_EQ(std::set<int64_t>(batch.indices.begin(), batch.indices.end()).size(), 10u);
  buf.SampleTransitions(1, true, &batch);
  EXPECT_EQ(batch.indices[0], 0);  // and the tree was restored afterwards
  FlexibleBuffer plain(10, 1, Small());
  Write(plain, 0);
  EXPECT_NE(ErrorOf([&] { plain.SampleTransitions(1, true, &batch); }).find("memory_weights"),
            std::string::npos);
}

TEST(FlexibleBuffer, EpisodesComeBackWholeAndInOrderAcrossTheRing) {
  FlexibleBuffer buf(10, 2, Small(), 5);
  EpisodeBatch eps;
  buf.SampleEpisodes(100, 0, &eps);
  EXPECT_TRUE(eps.lengths.empty());  // no episode has ended yet: empty, not an error
  // episodes: [0..3] (4, terminated), [4..6] (3, truncated), [7..11] (5, wraps: rows 7,8,9,0,1),
  // open 12..
  int64_t t = 0;
  for (int64_t len : {4, 3, 5}) {
    for (int64_t k = 0; k < len; ++k, ++t)
      Write(buf, t, k == len - 1 && len != 3, k == len - 1 && len == 3);
  }
  Write(buf, t++);  // open episode, overwrites row 2 -> episode 0 is gone
  EXPECT_EQ(buf.num_episodes(), 2);
  buf.SampleEpisodes(100, 0, &eps);
  ASSERT_EQ(eps.lengths.size(), 2u);
  std::multiset<int64_t> lengths(eps.lengths.begin(), eps.lengths.end());
  EXPECT_EQ(lengths, (std::multiset<int64_t>{3, 5}));
  const float* steps = eps["global_rewards"].as<float>();
  for (size_t e = 0; e < 2; ++e) {
    const int64_t first = static_cast<int64_t>(steps[eps.starts[e]]);
    EXPECT_EQ(first, eps.lengths[e] == 3 ? 4 : 7);
    for (int64_t k = 0; k < eps.lengths[e]; ++k) {
      EXPECT_EQ(steps[eps.starts[e] + k], static_cast<float>(first + k));  // time order
      for (int a = 0; a < 2; ++a) {                                        // agents synchronized
        EXPECT_EQ(eps["obs"].as<float>()[(a * 8 + eps.starts[e] + k) * 2], 100.0f * a + first + k);
      }
    }
    const int64_t last = eps.starts[e] + eps.lengths[e] - 1;
    EXPECT_EQ(eps["truncated"].as<bool>()[last], eps.lengths[e] == 3);  // truncation kept apart
    EXPECT_EQ(eps["terminated"].as<bool>()[last], eps.lengths[e] == 5);
  }
  // the last episode is trimmed to fit, keeping its beginning; the cap limits the count
  buf.SampleEpisodes(6, 0, &eps);
  EXPECT_EQ(eps.lengths[0] + eps.lengths[1], 6);
  buf.SampleEpisodes(100, 1, &eps);
  EXPECT_EQ(eps.lengths.size(), 1u);
  buf.Reset();
  EXPECT_EQ(buf.size(), 0);
  buf.SampleEpisodes(100, 0, &eps);
  EXPECT_TRUE(eps.lengths.empty());
}

// Element (agent a, step t, k) of a strided view.
template <typename T>
T ViewAt(const FieldView& v, int a, int64_t t, int64_t k, bool per_agent) {
  const int64_t* st = v.strides.data();
  const int64_t at = per_agent ? a * st[0] + t * st[1] + k * (v.strides.size() > 2 ? st[2] : 0)
                               : t * st[0] + k * (v.strides.size() > 1 ? st[1] : 0);
  T value;
  std::memcpy(&value, v.data + at * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return value;
}

TEST(FlexibleBuffer, EpisodeViewsMatchCopiesWithoutCopying) {
  FlexibleBuffer buf(10, 2, Small(), 5);
  // same layout as above: [4..6] truncated, [7..11] wraps the ring end
  int64_t t = 0;
  for (int64_t len : {4, 3, 5}) {
    for (int64_t k = 0; k < len; ++k, ++t)
      Write(buf, t, k == len - 1 && len != 3, k == len - 1 && len == 3);
  }
  Write(buf, t++);
  std::vector<EpisodeView> views;
  buf.SampleEpisodeViews(100, 0, &views);
  ASSERT_EQ(views.size(), 2u);
  const int obs = buf.FieldId("obs"), rew = buf.FieldId("global_rewards");
  for (const auto& v : views) {
    const auto& o = v.fields[obs];
    ASSERT_EQ(o.shape, (std::vector<int64_t>{2, v.length, 2}));
    const float first = ViewAt<float>(v.fields[rew], 0, 0, 0, false);
    EXPECT_EQ(first, v.length == 3 ? 4.0f : 7.0f);
    for (int64_t k = 0; k < v.length; ++k) {
      EXPECT_EQ(ViewAt<float>(v.fields[rew], 0, k, 0, false), first + k);
      for (int a = 0; a < 2; ++a) {
        EXPECT_EQ(ViewAt<float>(o, a, k, 0, true), 100.0f * a + first + k);
        EXPECT_EQ(ViewAt<float>(o, a, k, 1, true), -(first + k));
      }
    }
    const bool wraps = v.length == 5;  // rows 7, 8, 9, 0, 1
    if (wraps) {
      EXPECT_EQ(o.data, v.copy["obs"].data.data());
    } else {
      EXPECT_EQ(o.data, buf.At(obs, 0, v.start));  // a view into the ring itself
    }
  }
}

class FlexibleBufferFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlforge_fb_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FlexibleBufferFiles, SaveAndLoadRestoreEverything) {
  StandardFields s = Small();
  s.memory_weights = true;
  FlexibleBuffer buf(12, 2, s, 9);
  for (int64_t t = 0; t < 17; ++t) Write(buf, t, t % 5 == 4);
  buf.Save(dir_.string());
  for (const char* f : {"obs.npy", "obs_.npy", "global_rewards.npy", "terminated.npy",
                        "truncated.npy", "buffer.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / f)) << f;
  }
  FlexibleBuffer loaded = FlexibleBuffer::Load(dir_.string());
  EXPECT_EQ(loaded.fields(), buf.fields());
  EXPECT_EQ(loaded.size(), buf.size());
  EXPECT_EQ(loaded.total_steps(), buf.total_steps());
  EXPECT_EQ(loaded.num_episodes(), buf.num_episodes());
  for (size_t i = 0; i < buf.fields().size(); ++i) {
    const auto& f = buf.fields()[i];
    for (int a = 0; a < (f.scope == Scope::kPerAgent ? 2 : 1); ++a) {
      for (int64_t r = 0; r < 12; ++r) {
        EXPECT_EQ(std::memcmp(loaded.At(static_cast<int>(i), a, r),
                              buf.At(static_cast<int>(i), a, r), f.row_bytes()),
                  0)
            << f.name << " agent " << a << " row " << r;
      }
    }
  }
  // the RNG state travels too: both draw the same samples from here on
  Batch a, b;
  buf.SampleTransitions(5, true, &a);
  loaded.SampleTransitions(5, true, &b);
  EXPECT_EQ(a.indices, b.indices);
  EpisodeBatch ea, eb;
  buf.SampleEpisodes(20, 0, &ea);
  loaded.SampleEpisodes(20, 0, &eb);
  EXPECT_EQ(ea.indices, eb.indices);
  // saving again over the folder replaces it whole
  Write(buf, 17);
  buf.Save(dir_.string());
  EXPECT_EQ(FlexibleBuffer::Load(dir_.string()).total_steps(), 18);
}

TEST_F(FlexibleBufferFiles, SavesGoThroughATempFolder) {
  FlexibleBuffer buf(8, 1, Small(), 1);
  for (int64_t t = 0; t < 5; ++t) Write(buf, t);
  buf.Save(dir_.string());
  // a stale temp folder from a crashed save is replaced, and the new save lands whole
  const fs::path stale = dir_.string() + ".tmp-" + std::to_string(::getpid());
  fs::create_directories(stale);
  std::ofstream(stale / "obs.npy") << "half-written";
  Write(buf, 5);
  buf.Save(dir_.string());
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(FlexibleBuffer::Load(dir_.string()).total_steps(), 6);
  // a save that cannot even start fails cleanly and leaves the previous one as it was
  const fs::path file = dir_.string() + "_file";
  std::ofstream(file) << "x";
  EXPECT_THROW(buf.Save((file / "buffer").string()), Error);
  fs::remove(file);
  EXPECT_EQ(FlexibleBuffer::Load(dir_.string()).total_steps(), 6);
}

TEST_F(FlexibleBufferFiles, BadFilesAreClearErrorsAndDamageNothing) {
  FlexibleBuffer buf(8, 1, Small(), 1);
  for (int64_t t = 0; t < 5; ++t) Write(buf, t);
  buf.Save(dir_.string());

  // schema mismatch
  StandardFields other = Small();
  other.obs_size = 3;
  FlexibleBuffer wrong(8, 1, other);
  EXPECT_NE(ErrorOf([&] {
              wrong.LoadInto(dir_.string());
            }).find("schema mismatch at field 0: saved 'obs'"),
            std::string::npos);
  FlexibleBuffer wrong_size(9, 1, Small());
  EXPECT_NE(ErrorOf([&] { wrong_size.LoadInto(dir_.string()); }).find("saved num_steps=8"),
            std::string::npos);

  // a truncated .npy: the target buffer keeps its own contents
  FlexibleBuffer target(8, 1, Small(), 1);
  for (int64_t t = 0; t < 3; ++t) Write(target, 100 + t);
  const fs::path obs = dir_ / "obs.npy";
  const auto full = fs::file_size(obs);
  fs::resize_file(obs, full - 5);
  const std::string msg = ErrorOf([&] { target.LoadInto(dir_.string()); });
  EXPECT_NE(msg.find("obs.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data size mismatch"), std::string::npos) << msg;
  EXPECT_EQ(target.total_steps(), 3);
  Batch batch;
  target.SampleTransitions(std::vector<int64_t>{0}, &batch);
  EXPECT_EQ(batch["global_rewards"].as<float>()[0], 100.0f);

  // a file with another dtype or shape
  buf.Save(dir_.string());
  FlexibleBuffer ints(8, 1, {{"obs", Scope::kPerAgent, {2}, DType::kInt32}});
  for (int64_t t = 0; t < 2; ++t) {
    const int32_t v[2] = {1, 2};
    ints.Set<int32_t>("obs", std::span<const int32_t>(v, 2));
    ints.SaveTransition(false);
  }
  const fs::path other_dir = dir_.string() + "_ints";
  ints.Save(other_dir.string());
  fs::copy_file(other_dir / "obs.npy", dir_ / "obs.npy", fs::copy_options::overwrite_existing);
  fs::remove_all(other_dir);
  EXPECT_NE(ErrorOf([&] {
              target.LoadInto(dir_.string());
            }).find("obs.npy: expected (1, 8, 2) float32, found (1, 8, 2) int32"),
            std::string::npos);

  // garbage and missing metadata
  std::ofstream(dir_ / "obs.npy") << "this is not numpy data";
  EXPECT_NE(ErrorOf([&] { target.LoadInto(dir_.string()); }).find("not a .npy file"),
            std::string::npos);
  std::ofstream(dir_ / "buffer.json") << "{\"format\": 3";
  EXPECT_NE(ErrorOf([&] { target.LoadInto(dir_.string()); }).find("buffer.json: invalid JSON"),
            std::string::npos);
  fs::remove(dir_ / "buffer.json");
  EXPECT_NE(ErrorOf([&] { FlexibleBuffer::Load(dir_.string()); }).find("buffer.json: cannot open"),
            std::string::npos);
  EXPECT_EQ(target.total_steps(), 3);
}

}  // namespace
}  // namespace rlforge::buffers
