// Action masks: Space's masked sampling, the multi-agent API refusing masked actions, the vector
// env's mask blocks, and an agent that leaves before the others (masked_pick_v0, test-only).
#include <gtest/gtest.h>

#include <map>

#include "env/masked_pick.h"
#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"

namespace rlforge::env {
namespace {

using testing::MaskedPick;

TEST(ActionMask, SamplingIsUniformOverTheAllowedValuesOfEachPart) {
  const Space space = Space::MultiDiscrete({4, 3});
  const std::vector<uint8_t> mask = {0, 1, 0, 1, /**/ 0, 0, 1};
  Rng rng(3);
  std::vector<int64_t> a(2);
  std::map<int64_t, int> counts;
  for (int k = 0; k < 4000; ++k) {
    space.SampleMasked(rng, mask.data(), a, {});
    ++counts[a[0]];
    ASSERT_EQ(a[1], 2);
  }
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_NEAR(counts[1], 2000, 150);
  EXPECT_NEAR(counts[3], 2000, 150);
  const std::vector<uint8_t> none = {0, 0, 0, 0, 1, 1, 1};
  EXPECT_THROW(space.SampleMasked(rng, none.data(), a, {}), Error);
  EXPECT_EQ(space.MaskSize(), 7);
  EXPECT_EQ(Space::Box(-1, 1, {2}).MaskSize(), 0);
}

TEST(ActionMask, TheCheckerPassesAMaskedEnvAndTriesAMaskedAction) {
  const CheckReport report = CheckMultiAgentEnv([] { return std::make_unique<MaskedPick>(); });
  for (const auto& f : report.failures) ADD_FAILURE() << f;
  EXPECT_NE(std::find(report.passed.begin(), report.passed.end(), "masked actions are refused"),
            report.passed.end());
}

TEST(ActionMask, StepRefusesAMaskedActionNamingTheAgentAndWhatIsAllowed) {
  MaskedPick env;
  std::vector<float> obs(2 * env.obs_stride());
  std::vector<double> rewards(2);
  std::vector<uint8_t> term(2), trunc(2), mask(4);
  env.Reset(5, obs.data());
  env.ActionMask(1, mask.data());
  const auto off = std::find(mask.begin(), mask.end(), uint8_t{0});
  ASSERT_NE(off, mask.end()) << "seed 5 should mask some action of picker_1";
  const auto on = std::find(mask.begin(), mask.end(), uint8_t{1});
  const std::vector<int64_t> ok = {on - mask.begin()}, bad = {off - mask.begin()};
  const std::vector<double> before = env.GetState();
  try {
    env.Step(std::vector<Action>{{ok, {}}, {bad, {}}}, obs.data(), rewards.data(), term.data(),
             trunc.data());
    ADD_FAILURE() << "a masked action was taken";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("picker_1's action " + std::to_string(bad[0]) + " is masked out"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("allowed: " + std::to_string(ok[0])), std::string::npos) << what;
  }
  EXPECT_EQ(env.GetState(), before);  // nothing moved
  EXPECT_EQ(env.steps(), 0);
  // the observation carries the mask
  for (int a = 0; a < 4; ++a) EXPECT_EQ(obs[env.obs_stride() + a], mask[a]);
}

TEST(ActionMask, VectorEnvKeepsMasksSamplesAllowedActionsAndAgentsLeaveEarly) {
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int e = 0; e < 3; ++e) envs.push_back(std::make_unique<MaskedPick>());
  MultiAgentVectorEnv v(std::move(envs));
  ASSERT_TRUE(v.has_action_masks());
  ASSERT_EQ(v.mask_stride(), 4);
  v.Reset(9);
  std::vector<uint8_t> mask(4);
  int episodes = 0;
  for (int t = 1; t <= 24; ++t) {
    v.SampleActions();  // Step would throw on a masked one
    for (int e = 0; e < 3; ++e) {
      for (int i = 0; i < 2; ++i) {
        const int64_t a = v.discrete_actions()[e * 2 + i];
        EXPECT_TRUE(v.action_masks()[(e * 2 + i) * 4 + a]);
      }
    }
    v.Step();
    const int step = (t - 1) % MaskedPick::kCycles + 1;
    for (int e = 0; e < 3; ++e) {
      // picker_1 terminates at step 4 and is gone after; picker_0 is truncated at step 8
      EXPECT_EQ(v.terminated()[e * 2 + 1], step == MaskedPick::kLeaves) << t;
      EXPECT_EQ(v.truncated()[e * 2 + 0], step == MaskedPick::kCycles) << t;
      EXPECT_EQ(v.truncated()[e * 2 + 1], 0) << t;
      if (step > MaskedPick::kLeaves) EXPECT_EQ(v.rewards()[e * 2 + 1], 0.0) << t;
      EXPECT_EQ(v.has_final()[e], step == MaskedPick::kCycles) << t;
      for (int i = 0; i < 2; ++i) {
        v.env(e).ActionMask(i, mask.data());
        for (int a = 0; a < 4; ++a) EXPECT_EQ(v.action_masks()[(e * 2 + i) * 4 + a], mask[a]);
      }
      if (!v.has_final()[e]) continue;
      ++episodes;
      // the final masks are those of the final observations, not the new episode's
      for (int a = 0; a < 4; ++a)
        EXPECT_EQ(v.final_action_masks()[e * 8 + a], v.final_observations()[e * 10 + a]);
    }
  }
  EXPECT_EQ(episodes, 9);
}

}  // namespace
}  // namespace rlforge::env
