// Box2D environments: LunarLander-v3 spaces, determinism, the classic heuristic lands, crashes
// end the episode with -100, rendering, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "test_util.h"

namespace rlforge::env {
namespace {

using rlforge::testing::ErrorOf;

// Gymnasium's demo heuristic: point toward the pad, hover lower as the offset shrinks, and once a
// leg touches only damp the fall. Returns {main, lateral} in continuous form.
std::array<double, 2> Heuristic(const float* s) {
  const double angle_targ = std::clamp(s[0] * 0.5 + s[2] * 1.0, -0.4, 0.4);
  const double hover_targ = 0.55 * std::abs(s[0]);
  double angle_todo = (angle_targ - s[4]) * 0.5 - s[5] * 1.0;
  double hover_todo = (hover_targ - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    angle_todo = 0;
    hover_todo = -s[3] * 0.5;
  }
  return {hover_todo, angle_todo};
}

int64_t DiscreteHeuristic(const float* s) {
  const auto [hover, angle] = Heuristic(s);
  if (hover > std::abs(angle) && hover > 0.05) return 2;
  if (angle < -0.05) return 3;
  if (angle > 0.05) return 1;
  return 0;
}

double Episode(Env& env, uint64_t seed, bool continuous) {
  float obs[8];
  env.Reset(seed, obs);
  double total = 0;
  for (int t = 0; t < 1000; ++t) {
    StepResult r;
    if (continuous) {
      const auto [hover, angle] = Heuristic(obs);
      const float a[2] = {static_cast<float>(std::clamp(hover * 20 - 1, -1.0, 1.0)),
                          static_cast<float>(std::clamp(-angle * 20, -1.0, 1.0))};
      r = env.Step(Action{{}, {a, 2}}, obs);
    } else {
      const int64_t a = DiscreteHeuristic(obs);
      r = env.Step(Action{{&a, 1}, {}}, obs);
    }
    total += r.reward;
    if (r.terminated || r.truncated) break;
  }
  return total;
}

TEST(LunarLander, SpacesMatchGymnasiumV3) {
  auto discrete = Make("LunarLander-v3");
  EXPECT_EQ(discrete->action_space().ToString(), "Discrete(4)");
  EXPECT_EQ(discrete->observation_space().shape(), std::vector<int64_t>{8});
  EXPECT_DOUBLE_EQ(discrete->observation_space().high()[0], 2.5);
  EXPECT_DOUBLE_EQ(discrete->observation_space().high()[2], 10.0);
  EXPECT_FLOAT_EQ(discrete->observation_space().high()[4], 2 * M_PI);
  EXPECT_DOUBLE_EQ(discrete->observation_space().high()[6], 1.0);
  auto continuous = Make("LunarLander-v3", {{"continuous", true}});
  EXPECT_EQ(continuous->action_space().ToString(), "Box(-1.0, 1.0, (2,), float32)");
  EXPECT_EQ(Lookup("LunarLander-v3").spec.max_episode_steps, 1000);
  EXPECT_EQ(Lookup("LunarLander-v3").spec.reward_threshold, 200.0);
}

TEST(LunarLander, TheHeuristicLandsAbove200OnAtLeast8Of10Seeds) {
  for (const bool continuous : {false, true}) {
    auto env = Make("LunarLander-v3", {{"continuous", continuous}});
    int landed = 0;
    for (uint64_t seed = 0; seed < 10; ++seed) landed += Episode(*env, seed, continuous) > 200;
    EXPECT_GE(landed, 8) << (continuous ? "continuous" : "discrete");
  }
}

TEST(LunarLander, SameSeedSameTrajectoryAndWindIsSeeded) {
  for (const bool wind : {false, true}) {
    auto a = Make("LunarLander-v3", {{"enable_wind", wind}});
    auto b = Make("LunarLander-v3", {{"enable_wind", wind}});
    EXPECT_EQ(Episode(*a, 4, false), Episode(*b, 4, false));
  }
  auto calm = Make("LunarLander-v3"), windy = Make("LunarLander-v3", {{"enable_wind", true}});
  EXPECT_NE(Episode(*calm, 4, false), Episode(*windy, 4, false));
}

TEST(LunarLander, DoingNothingCrashesWithMinus100) {
  auto env = Make("LunarLander-v3");
  float obs[8];
  env->Reset(1, obs);
  const int64_t noop = 0;
  StepResult r;
  int t = 0;
  for (; t < 1000 && !r.terminated; ++t) r = env->Step(Action{{&noop, 1}, {}}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -100.0);
  EXPECT_LT(t, 300);
}

TEST(LunarLander, RendersTheSceneAndFollowsTheLander) {
  auto env = Make("LunarLander-v3");
  float obs[8];
  env->Reset(0, obs);
  const Image first = env->Render();
  ASSERT_EQ(first.width, 600);
  ASSERT_EQ(first.height, 400);
  std::set<uint32_t> colours;
  for (size_t i = 0; i < first.rgb.size(); i += 3)
    colours.insert(first.rgb[i] << 16 | first.rgb[i + 1] << 8 | first.rgb[i + 2]);
  EXPECT_GT(colours.size(), 3u);  // sky, ground, lander, flags
  const int64_t noop = 0;
  for (int t = 0; t < 20; ++t) env->Step(Action{{&noop, 1}, {}}, obs);
  const Image later = env->Render();
  EXPECT_NE(first.rgb, later.rgb);
  // SetState reproduces the picture
  const auto state = env->GetState();
  auto other = Make("LunarLander-v3");
  other->Reset(7, obs);
  other->SetState(state);
  EXPECT_EQ(other->Render().rgb, later.rgb);
}

TEST(LunarLander, BadInputIsAClearError) {
  auto env = Make("LunarLander-v3");
  float obs[8];
  env->Reset(0, obs);
  const int64_t four = 4;
  EXPECT_NE(ErrorOf([&] {
              env->Step(Action{{&four, 1}, {}}, obs);
            }).find("LunarLander-v3"),
            std::string::npos);
  auto continuous = Make("LunarLander-v3", {{"continuous", true}});
  continuous->Reset(0, obs);
  const float nan[2] = {NAN, 0};
  EXPECT_NE(ErrorOf([&] {
              continuous->Step(Action{{}, {nan, 2}}, obs);
            }).find("NaN"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              Make("LunarLander-v3", {{"gravity", -15.0}});
            }).find("'gravity' must be in (-12, 0)"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { env->SetState(std::vector<double>(3)); }).find("state must have"),
            std::string::npos);
}

}  // namespace
}  // namespace rlforge::env
