// Box2D environments: LunarLander-v3 spaces, determinism, the classic heuristic lands, crashes
// end the episode with -100, rendering, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
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

// Gymnasium's demo gait for BipedalWalker (a state machine: stand on one leg, put the other
// down, push off), re-derived.
class Gait {
 public:
  std::array<float, 4> Act(const float* s) {
    const int moving_base = 4 + 5 * moving_, supporting_base = 4 + 5 * (1 - moving_);
    std::array<std::optional<double>, 2> hip_targ, knee_targ;
    if (state_ == kStayOnOneLeg) {
      hip_targ[moving_] = 1.1;
      knee_targ[moving_] = -0.6;
      knee_ += 0.03;
      if (s[2] > kSpeed) knee_ += 0.03;
      knee_ = std::min(knee_, kSupportKnee);
      knee_targ[1 - moving_] = knee_;
      if (s[supporting_base] < 0.10) state_ = kPutOtherDown;
    }
    if (state_ == kPutOtherDown) {
      hip_targ[moving_] = 0.1;
      knee_targ[moving_] = kSupportKnee;
      knee_targ[1 - moving_] = knee_;
      if (s[moving_base + 4]) {
        state_ = kPushOff;
        knee_ = std::min<double>(s[moving_base + 2], kSupportKnee);
      }
    }
    if (state_ == kPushOff) {
      knee_targ[moving_] = knee_;
      knee_targ[1 - moving_] = 1.0;
      if (s[supporting_base + 2] > 0.88 || s[2] > 1.2 * kSpeed) {
        state_ = kStayOnOneLeg;
        moving_ = 1 - moving_;
      }
    }
    std::array<double, 2> hip{0, 0}, knee{0, 0};
    for (int k = 0; k < 2; ++k) {
      if (hip_targ[k] && *hip_targ[k] != 0)
        hip[k] = 0.9 * (*hip_targ[k] - s[4 + 5 * k]) - 0.25 * s[5 + 5 * k];
      if (knee_targ[k] && *knee_targ[k] != 0)
        knee[k] = 4.0 * (*knee_targ[k] - s[6 + 5 * k]) - 0.25 * s[7 + 5 * k];
      hip[k] -= 0.9 * (0 - s[0]) - 1.5 * s[1];  // keep the hull level
      knee[k] -= 15.0 * s[3];                   // damp vertical oscillation
    }
    const auto clip = [](double x) { return static_cast<float>(std::clamp(0.5 * x, -1.0, 1.0)); };
    return {clip(hip[0]), clip(knee[0]), clip(hip[1]), clip(knee[1])};
  }

 private:
  enum { kStayOnOneLeg, kPutOtherDown, kPushOff };
  static constexpr double kSpeed = 0.29, kSupportKnee = 0.1;
  int state_ = kStayOnOneLeg, moving_ = 0;
  double knee_ = kSupportKnee;
};

TEST(BipedalWalker, SpacesMatchGymnasiumV3) {
  auto env = Make("BipedalWalker-v3");
  EXPECT_EQ(env->observation_space().shape(), std::vector<int64_t>{24});
  EXPECT_EQ(env->action_space().ToString(), "Box(-1.0, 1.0, (4,), float32)");
  EXPECT_EQ(Lookup("BipedalWalker-v3").spec.max_episode_steps, 1600);
  EXPECT_FLOAT_EQ(env->observation_space().high()[0], M_PI);
  EXPECT_DOUBLE_EQ(env->observation_space().low()[8], 0.0);  // leg contact
}

TEST(BipedalWalker, TheScriptedGaitWalksToTheEnd) {
  auto env = Make("BipedalWalker-v3");
  int finished = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    float obs[24];
    env->Reset(seed, obs);
    Gait gait;
    double total = 0;
    StepResult r;
    std::array<float, 4> a{0, 0, 0, 0};  // as Gymnasium's demo: the first step does nothing
    for (int t = 0; t < 1600 && !r.terminated; ++t) {
      r = env->Step(Action{{}, {a.data(), 4}}, obs);
      a = gait.Act(obs);
      total += r.reward;
    }
    // reaching the far end terminates without the fall penalty; the course pays about 300
    finished += r.terminated && r.reward != -100.0 && total > 250;
  }
  EXPECT_GE(finished, 4);
}

TEST(BipedalWalker, AFallGivesMinus100AndTerminates) {
  auto env = Make("BipedalWalker-v3");
  float obs[24];
  env->Reset(0, obs);
  Rng rng(3);
  StepResult r;
  for (int t = 0; t < 1600 && !r.terminated; ++t) {
    float a[4];
    for (float& x : a) x = static_cast<float>(rng.Uniform(-1, 1));
    r = env->Step(Action{{}, {a, 4}}, obs);
  }
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -100.0);
}

TEST(BipedalWalker, SeededTerrainAndStateReRenderTheSameFrame) {
  for (const bool hardcore : {false, true}) {
    auto a = Make("BipedalWalker-v3", {{"hardcore", hardcore}});
    auto b = Make("BipedalWalker-v3", {{"hardcore", hardcore}});
    float oa[24], ob[24];
    a->Reset(5, oa);
    b->Reset(5, ob);
    EXPECT_EQ(std::vector<float>(oa, oa + 24), std::vector<float>(ob, ob + 24));
    const float zero[4] = {0.3f, -0.2f, 0.1f, 0.0f};
    for (int t = 0; t < 20; ++t) {
      a->Step(Action{{}, {zero, 4}}, oa);
      b->Step(Action{{}, {zero, 4}}, ob);
    }
    EXPECT_EQ(std::vector<float>(oa, oa + 24), std::vector<float>(ob, ob + 24));
    // another env, on another terrain, put into a's state draws a's frame
    auto c = Make("BipedalWalker-v3", {{"hardcore", hardcore}});
    c->Reset(99, ob);
    c->SetState(a->GetState());
    EXPECT_EQ(c->Render().rgb, a->Render().rgb) << hardcore;
    c->Observe(ob);
    EXPECT_EQ(std::vector<float>(oa, oa + 24), std::vector<float>(ob, ob + 24));
  }
  // hardcore terrain has obstacles the plain one lacks: frames differ further along
  auto plain = Make("BipedalWalker-v3"), hard = Make("BipedalWalker-v3", {{"hardcore", true}});
  float o[24];
  plain->Reset(2, o);
  hard->Reset(2, o);
  EXPECT_NE(plain->Render().rgb, hard->Render().rgb);
}

TEST(BipedalWalker, BadInputIsAClearError) {
  auto env = Make("BipedalWalker-v3");
  float obs[24];
  env->Reset(0, obs);
  const float three[3] = {0, 0, 0};
  EXPECT_NE(ErrorOf([&] {
              env->Step(Action{{}, {three, 3}}, obs);
            }).find("shape (4,)"),
            std::string::npos);
  std::vector<double> state = env->GetState();
  state[4] = 2;  // an even LCG increment cannot be an episode RNG
  EXPECT_NE(ErrorOf([&] { env->SetState(state); }).find("episode RNG"), std::string::npos);
}

}  // namespace
}  // namespace rlforge::env
