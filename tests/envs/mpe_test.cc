// MPE envs and the multi-agent API: golden replay, PettingZoo's parallel semantics, reward parts,
// bad input, the vector env and snapshots.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/io/golden.h"

namespace rlforge::env {
namespace {

const std::string kGolden = std::string(RLFORGE_GOLDEN_DIR) + "/mpe/simple_spread_v3.json";

// One env with its caller-owned blocks.
struct Slots {
  explicit Slots(std::unique_ptr<MultiAgentEnv> e)
      : env(std::move(e)),
        obs(static_cast<size_t>(env->num_agents() * env->obs_stride())),
        rewards(static_cast<size_t>(env->num_agents())),
        terminated(rewards.size()),
        truncated(rewards.size()) {}
  void Step(std::span<const Action> actions) {
    env->Step(actions, obs.data(), rewards.data(), terminated.data(), truncated.data());
  }
  void StepByName(const std::vector<std::pair<std::string, Action>>& actions) {
    env->StepByName(actions, obs.data(), rewards.data(), terminated.data(), truncated.data());
  }
  std::unique_ptr<MultiAgentEnv> env;
  std::vector<float> obs;
  std::vector<double> rewards;
  std::vector<uint8_t> terminated, truncated;
};

TEST(MpeGolden, EveryEpisodeReplaysBitExactlyInEveryMode) {
  for (const auto mode :
       {io::ReplayMode::kReplay, io::ReplayMode::kOneStep, io::ReplayMode::kFromSeed}) {
    const auto reports = io::ReplayGoldenFile(kGolden, mode, 0.0);
    ASSERT_EQ(reports.size(), 7u);
    for (const auto& r : reports) {
      EXPECT_TRUE(r.passed) << "episode " << r.episode << ": " << r.first_problem;
      EXPECT_EQ(r.replayed_steps, 25);
      EXPECT_EQ(r.max_obs_diff, 0.0);
      EXPECT_EQ(r.max_reward_diff, 0.0);
    }
  }
}

TEST(MpeGolden, AChangedRecordingIsCaught) {
  auto episodes = io::LoadMultiAgentGolden(kGolden);
  episodes[0].steps[10].rewards[1].second += 1e-12;
  const auto r = io::ReplayMultiAgentEpisode(episodes[0], io::ReplayMode::kFromSeed, 0.0);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.first_problem.find("step 10: reward of agent_1"), std::string::npos)
      << r.first_problem;
}

TEST(MpeGolden, MalformedFilesAreClearErrorsOrReportedProblems) {
  nlohmann::json episodes = nlohmann::json::parse(std::ifstream(kGolden));
  auto write = [](const nlohmann::json& j, const std::string& name) {
    const std::string path = ::testing::TempDir() + "/rlforge_mpe_" + name + ".json";
    std::ofstream(path) << j.dump();
    return path;
  };
  auto error = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json j = episodes;
    change(j[0]);
    try {
      io::LoadMultiAgentGolden(write(j, "bad"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error([](auto& e) {
              e.erase("initial_agent_pos");
            }).find("episode 0: missing key 'initial_agent_pos'"),
            std::string::npos);
  EXPECT_NE(error([](auto& e) {
              e["steps"][2]["rewards"]["agent_0"] = "high";
            }).find("steps[2]: key 'rewards'['agent_0']: expected a number"),
            std::string::npos);
  EXPECT_NE(error([](auto& e) { e["initial_agent_pos"][1] = {0.5}; }).find("[x, y] pairs"),
            std::string::npos);
  // parsed, but not this env's: a problem in the report, naming the agent
  nlohmann::json j = episodes;
  j[0]["steps"][4]["actions"]["agent_9"] = 1;
  auto loaded = io::LoadMultiAgentGolden(write(j, "agent"));
  auto r = io::ReplayMultiAgentEpisode(loaded[0], io::ReplayMode::kReplay, 0.0);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.first_problem.find("unknown agent 'agent_9'"), std::string::npos) << r.first_problem;
  j = episodes;
  j[0]["kwargs"]["N"] = 4;
  loaded = io::LoadMultiAgentGolden(write(j, "n4"));
  r = io::ReplayMultiAgentEpisode(loaded[0], io::ReplayMode::kFromSeed, 0.0);
  EXPECT_FALSE(r.passed);
}

TEST(MultiAgentApi, EveryAgentIsTruncatedAtMaxCyclesAndLeaves) {
  Slots s(MakeMultiAgent("simple_spread_v3", {{"max_cycles", int64_t{5}}}));
  s.env->Reset(0, s.obs.data());
  const std::vector<int64_t> noop = {0};
  const std::vector<Action> actions(3, Action{noop, {}});
  for (int t = 1; t <= 5; ++t) {
    ASSERT_EQ(s.env->num_alive(), 3);
    s.Step(actions);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(s.truncated[i], t == 5) << "step " << t;
      EXPECT_EQ(s.terminated[i], 0);
    }
  }
  EXPECT_EQ(s.env->num_alive(), 0);
  EXPECT_THROW(s.Step(actions), Error);
  s.env->Reset(std::nullopt, s.obs.data());
  EXPECT_EQ(s.env->num_alive(), 3);
}

TEST(MultiAgentApi, StateIsEveryObservationConcatenated) {
  Slots s(MakeMultiAgent("simple_tag_v3"));
  s.env->Reset(4, s.obs.data());
  ASSERT_EQ(s.env->obs_stride(), 16);
  ASSERT_EQ(s.env->state_size(), 3 * 16 + 14);
  std::vector<float> state(static_cast<size_t>(s.env->state_size()));
  s.env->State(state.data());
  size_t at = 0;
  for (int i = 0; i < 4; ++i) {
    const int64_t width = s.env->observation_space(i).size();
    for (int64_t k = 0; k < width; ++k) EXPECT_EQ(state[at++], s.obs[i * 16 + k]);
    for (int64_t k = width; k < 16; ++k) EXPECT_EQ(s.obs[i * 16 + k], 0.0f) << "padding";
  }
}

TEST(MultiAgentApi, SpreadRewardIsTheMixOfItsReportedParts) {
  Slots s(MakeMultiAgent("simple_spread_v3", {{"local_ratio", 0.25}}));
  // agents 0 and 1 start on top of each other: both are penalized, agent 2 is not
  s.env->Reset(0, s.obs.data());
  std::vector<double> state = s.env->GetState();
  state[4] = state[0] + 0.1, state[5] = state[1];
  state[8] = state[0] + 1.5, state[9] = state[1];
  s.env->SetState(state);
  const std::vector<int64_t> noop = {0};
  s.Step(std::vector<Action>(3, Action{noop, {}}));
  double shared = 0;
  for (int i = 0; i < 3; ++i) {
    const double g = *s.env->info(i).Get("shared_reward");
    const double c = *s.env->info(i).Get("collision_reward");
    if (i == 0) shared = g;
    EXPECT_EQ(g, shared);
    EXPECT_EQ(c, i < 2 ? -1.0 : 0.0) << "agent " << i;
    EXPECT_EQ(s.rewards[i], g * 0.75 + c * 0.25);
  }
  EXPECT_LT(shared, 0.0);
}

TEST(MultiAgentApi, BadActionsAreClearErrors) {
  Slots s(MakeMultiAgent("simple_spread_v3"));
  s.env->Reset(1, s.obs.data());
  const std::vector<int64_t> ok = {2}, out_of_range = {5};
  auto message = [&](const std::vector<std::pair<std::string, Action>>& actions) {
    try {
      s.StepByName(actions);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message({{"agent_0", {ok, {}}}, {"agent_1", {ok, {}}}}).find("no action for agent agent_2"),
      std::string::npos);
  EXPECT_NE(message({{"agent_0", {ok, {}}},
                     {"agent_1", {ok, {}}},
                     {"agent_2", {ok, {}}},
                     {"agent_7", {ok, {}}}})
                .find("unknown agent 'agent_7'"),
            std::string::npos);
  EXPECT_NE(message({{"agent_0", {ok, {}}}, {"agent_1", {out_of_range, {}}}, {"agent_2", {ok, {}}}})
                .find("action of agent_1"),
            std::string::npos);
  EXPECT_EQ(s.env->steps(), 0) << "a refused step changes nothing";

  Slots c(MakeMultiAgent("simple_spread_v3", {{"continuous_actions", true}}));
  c.env->Reset(1, c.obs.data());
  const std::vector<float> fine = {0, 0.5f, 0.5f, 0, 1}, nan = {0, NAN, 0, 0, 0},
                           big = {0, 0, 1.5f, 0, 0};
  EXPECT_THROW(c.Step(std::vector<Action>{{{}, fine}, {{}, nan}, {{}, fine}}), Error);
  EXPECT_THROW(c.Step(std::vector<Action>{{{}, fine}, {{}, fine}, {{}, big}}), Error);
  EXPECT_THROW(c.Step(std::vector<Action>{{{}, fine}, {{}, fine}}), Error) << "too few";
  EXPECT_NO_THROW(c.Step(std::vector<Action>{{{}, fine}, {{}, fine}, {{}, fine}}));
}

TEST(MultiAgentApi, BadKwargsAndIdsAreClearErrors) {
  EXPECT_THROW(MakeMultiAgent("simple_spread_v3", {{"N", int64_t{0}}}), Error);
  EXPECT_THROW(MakeMultiAgent("simple_spread_v3", {{"local_ratio", 1.5}}), Error);
  EXPECT_THROW(MakeMultiAgent("simple_spread_v3", {{"agents", int64_t{3}}}), Error);
  EXPECT_THROW(MakeMultiAgent("simple_spred_v3"), Error);
  try {
    Make("simple_spread_v3");
    FAIL() << "a multi-agent id made a single-agent env";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multi-agent"), std::string::npos);
  }
}

TEST(SimpleReference, TheOtherAgentHearsWhatWasSaid) {
  Slots s(MakeMultiAgent("simple_reference_v3"));
  s.env->Reset(0, s.obs.data());
  ASSERT_EQ(s.env->action_space(0), Space::MultiDiscrete({5, 10}));
  ASSERT_EQ(s.env->observation_space(0).size(), 21);
  const std::vector<int64_t> say7 = {0, 7}, say2 = {1, 2};
  s.Step(std::vector<Action>{{say7, {}}, {say2, {}}});
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(s.obs[21 + 11 + k], k == 7 ? 1.0f : 0.0f) << "agent_1 hears agent_0";
    EXPECT_EQ(s.obs[11 + k], k == 2 ? 1.0f : 0.0f) << "agent_0 hears agent_1";
  }
  // each sees the colour of a landmark (one channel 0.75, two 0.25)
  float sum = 0;
  for (int k = 8; k < 11; ++k) sum += s.obs[k];
  EXPECT_FLOAT_EQ(sum, 1.25f);
}

TEST(SimpleTag, AdversariesShareTheCatchRewardAndRespectTheirSpeedLimit) {
  Slots s(MakeMultiAgent("simple_tag_v3", {{"num_obstacles", int64_t{0}}}));
  s.env->Reset(2, s.obs.data());
  std::vector<double> state = s.env->GetState();
  // adversary_0 on top of the good agent (entity 3), the others far away
  state[12] = 0.5, state[13] = 0.5;
  state[0] = 0.52, state[1] = 0.5;
  state[4] = -0.8, state[5] = -0.8;
  state[8] = -0.8, state[9] = 0.8;
  s.env->SetState(state);
  const std::vector<int64_t> right = {2};
  s.Step(std::vector<Action>(4, Action{right, {}}));
  EXPECT_EQ(s.rewards[0], 10.0);
  EXPECT_EQ(s.rewards[1], 10.0);
  EXPECT_EQ(s.rewards[2], 10.0);
  EXPECT_EQ(s.rewards[3], -10.0);
  // pushed right for 20 steps, every agent reaches and keeps its speed limit
  s.env->Reset(2, s.obs.data());
  double fastest[4] = {0, 0, 0, 0};
  for (int t = 0; t < 20; ++t) {
    s.Step(std::vector<Action>(4, Action{right, {}}));
    const std::vector<double> now = s.env->GetState();
    for (int i = 0; i < 4; ++i) {
      const double speed = std::hypot(now[4 * i + 2], now[4 * i + 3]);
      fastest[i] = std::max(fastest[i], speed);
      EXPECT_LE(speed, i < 3 ? 1.0 + 1e-12 : 1.3 + 1e-12) << "agent " << i << " step " << t;
    }
  }
  for (int i = 0; i < 4; ++i) EXPECT_GT(fastest[i], i < 3 ? 0.99 : 1.29) << "agent " << i;
}

TEST(MultiAgentVectorEnv, AutoresetKeepsTheFinalStepAndPerAgentReturns) {
  auto v = MakeMultiAgentVector("simple_spread_v3", 2, {{"max_cycles", int64_t{4}}});
  v->Reset(5);
  std::vector<double> sums(6, 0.0);
  for (int t = 1; t <= 4; ++t) {
    v->SampleActions();
    v->Step();
    for (int k = 0; k < 6; ++k) sums[k] += v->rewards()[k];
    EXPECT_EQ(v->has_final()[0], t == 4);
    EXPECT_EQ(v->has_final()[1], t == 4);
  }
  for (int k = 0; k < 6; ++k) EXPECT_EQ(v->final_returns()[k], sums[k]);
  EXPECT_EQ(v->final_lengths()[0], 4);
  EXPECT_NE(std::vector<float>(v->final_observations(), v->final_observations() + 18),
            std::vector<float>(v->observations(), v->observations() + 18))
      << "the block holds the next episode's first observation";
  EXPECT_EQ(v->env(0).num_alive(), 3);
}

TEST(MultiAgentVectorEnv, SnapshotsContinueBitExactly) {
  auto a = MakeMultiAgentVector("simple_tag_v3", 3);
  auto b = MakeMultiAgentVector("simple_tag_v3", 3);
  a->Reset(11);
  for (int t = 0; t < 37; ++t) a->SampleActions(), a->Step();
  ByteWriter out;
  a->SaveSnapshot(out);
  ByteReader in(out.bytes());
  b->LoadSnapshot(in);
  for (int t = 0; t < 60; ++t) {
    a->SampleActions(), a->Step();
    b->SampleActions(), b->Step();
    for (int k = 0; k < 3 * 4 * 16; ++k) ASSERT_EQ(a->observations()[k], b->observations()[k]);
    for (int k = 0; k < 12; ++k) ASSERT_EQ(a->rewards()[k], b->rewards()[k]);
  }
}

TEST(MultiAgentChecker, EveryMpeEnvPasses) {
  for (const std::string& id : MultiAgentIds()) {
    for (bool continuous : {false, true}) {
      const Kwargs kw = {{"continuous_actions", continuous}};
      const CheckReport r = CheckMultiAgentEnv([&] { return MakeMultiAgent(id, kw); });
      EXPECT_TRUE(r.ok()) << id << ": " << (r.failures.empty() ? "" : r.failures[0]);
      EXPECT_GE(r.passed.size(), 6u);
    }
  }
}

}  // namespace
}  // namespace rlforge::env
