#include "rlforge/env/vector_env.h"

#include <gtest/gtest.h>

#include <cstring>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "rlforge/env/wrappers.h"

namespace rlforge::env {
namespace {

struct RunResult {
  std::vector<float> obs, final_obs;
  std::vector<double> rewards;
  std::vector<uint8_t> flags;
};

RunResult Roll(const std::string& id, int n, int threads, int steps) {
  auto envs = MakeVector(id, n, threads);
  envs->Reset(123);
  RunResult run;
  const size_t floats = envs->obs_bytes() / sizeof(float) * static_cast<size_t>(n);
  for (int t = 0; t < steps; ++t) {
    envs->SampleActions();
    envs->Step();
    const auto* obs = static_cast<const float*>(envs->observations());
    const auto* fin = static_cast<const float*>(envs->final_observations());
    run.obs.insert(run.obs.end(), obs, obs + floats);
    for (int i = 0; i < n; ++i) {
      run.rewards.push_back(envs->rewards()[i]);
      run.flags.push_back(envs->terminated()[i] | envs->truncated()[i] << 1 |
                          envs->has_final()[i] << 2);
      if (envs->has_final()[i]) {
        const size_t row = envs->obs_bytes() / sizeof(float);
        run.final_obs.insert(run.final_obs.end(), fin + i * row, fin + (i + 1) * row);
      }
    }
  }
  return run;
}

TEST(VectorEnv, SyncAndThreadedGiveIdenticalResults) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1", "Acrobot-v1"}) {
    const RunResult sync = Roll(id, 8, 1, 600);
    const RunResult threaded = Roll(id, 8, 2, 600);
    EXPECT_EQ(sync.obs, threaded.obs) << id;
    EXPECT_EQ(sync.rewards, threaded.rewards) << id;
    EXPECT_EQ(sync.flags, threaded.flags) << id;
    EXPECT_EQ(sync.final_obs, threaded.final_obs) << id;
    EXPECT_FALSE(sync.final_obs.empty()) << id;  // episodes did end and were kept
  }
}

TEST(VectorEnv, EnvIIsSeededWithSeedPlusI) {
  auto envs = MakeVector("CartPole-v1", 3);
  envs->Reset(10);
  for (int i = 0; i < 3; ++i) {
    auto single = Make("CartPole-v1");
    float obs[4];
    single->Reset(10 + i, obs);
    EXPECT_EQ(
        std::memcmp(obs, static_cast<const float*>(envs->observations()) + 4 * i, sizeof(obs)), 0);
  }
}

TEST(VectorEnv, AutoresetKeepsTheFinalObservation) {
  auto envs = MakeVector("CartPole-v1", 2);
  auto single = Make("CartPole-v1");
  envs->Reset(0);
  float obs[4];
  single->Reset(0, obs);
  // push right until env 0 terminates; the single env follows the same path
  for (int t = 0; t < 500; ++t) {
    envs->discrete_actions()[0] = 1;
    envs->discrete_actions()[1] = 1;
    envs->Step();
    const StepResult r = single->Step({{&envs->discrete_actions()[0], 1}, {}}, obs);
    ASSERT_EQ(envs->terminated()[0], r.terminated);
    if (r.terminated) {
      ASSERT_EQ(envs->has_final()[0], 1);
      EXPECT_EQ(std::memcmp(obs, envs->final_observations(), sizeof(obs)), 0);
      // the observation block already holds the next episode's first observation
      const auto* next = static_cast<const float*>(envs->observations());
      for (int k = 0; k < 4; ++k) EXPECT_LE(std::abs(next[k]), 0.05f);
      EXPECT_EQ(envs->final_lengths()[0], t + 1);
      EXPECT_EQ(envs->final_returns()[0], t + 1.0);
      return;
    }
  }
  FAIL() << "env 0 never terminated";
}

TEST(VectorEnv, FinalReturnsAreTheTrueReturnsUnderRewardWrappers) {
  std::vector<std::unique_ptr<Env>> list;
  for (int i = 0; i < 2; ++i) {
    list.push_back(std::make_unique<NormalizeReward>(
        std::make_unique<RecordEpisodeStatistics>(Make("CartPole-v1"))));
  }
  VectorEnv envs(std::move(list));
  envs.Reset(0);
  int ended = 0;
  for (int t = 0; t < 300; ++t) {
    envs.SampleActions();
    envs.Step();
    EXPECT_NE(envs.rewards()[0], 1.0);  // scaled rewards
    for (int i = 0; i < 2; ++i) {
      if (envs.has_final()[i]) {
        EXPECT_EQ(envs.final_returns()[i],
                  static_cast<double>(envs.final_lengths()[i]));  // 1 per step
        ++ended;
      }
    }
  }
  EXPECT_GT(ended, 2);
}

TEST(VectorEnv, BadActionIsReportedFromWorkerThreads) {
  auto envs = MakeVector("CartPole-v1", 4, 2);
  envs->Reset(0);
  envs->SampleActions();
  envs->discrete_actions()[3] = 5;
  EXPECT_THROW(envs->Step(), Error);
  envs->discrete_actions()[3] = 0;
  EXPECT_NO_THROW(envs->Step());
}

TEST(VectorEnv, InvalidSizesAreErrors) {
  EXPECT_THROW(MakeVector("CartPole-v1", 0), Error);
  EXPECT_THROW(MakeVector("CartPole-v1", 2, 0), Error);
}

}  // namespace
}  // namespace rlforge::env
