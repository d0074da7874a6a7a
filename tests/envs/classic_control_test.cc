#include <gtest/gtest.h>

#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "test_util.h"

namespace rlforge::env {
namespace {

using rlforge::testing::ErrorOf;

TEST(ClassicControl, SpacesMatchGymnasium) {
  const std::vector<std::tuple<std::string, std::string, std::string>> expected = {
      {"CartPole-v1",
       "Box([-4.8 -3.4028235e+38 -0.41887903 -3.4028235e+38], [4.8 3.4028235e+38 0.41887903 "
       "3.4028235e+38], (4,), float32)",
       "Discrete(2)"},
      {"Pendulum-v1", "Box([-1.0 -1.0 -8.0], [1.0 1.0 8.0], (3,), float32)",
       "Box(-2.0, 2.0, (1,), float32)"},
      {"MountainCar-v0", "Box([-1.2 -0.07], [0.6 0.07], (2,), float32)", "Discrete(3)"},
      {"MountainCarContinuous-v0", "Box([-1.2 -0.07], [0.6 0.07], (2,), float32)",
       "Box(-1.0, 1.0, (1,), float32)"},
      {"Acrobot-v1",
       "Box([-1.0 -1.0 -1.0 -1.0 -12.566371 -28.274334], [1.0 1.0 1.0 1.0 12.566371 28.274334], "
       "(6,), float32)",
       "Discrete(3)"},
  };
  for (const auto& [id, obs, act] : expected) {
    auto env = Make(id);
    EXPECT_EQ(env->observation_space().ToString(), obs) << id;
    EXPECT_EQ(env->action_space().ToString(), act) << id;
  }
}

TEST(ClassicControl, BadActionsAreClearErrors) {
  auto cartpole = Make("CartPole-v1");
  float obs[6];
  cartpole->Reset(0, obs);
  const int64_t two = 2;
  EXPECT_NE(ErrorOf([&] {
              cartpole->Step({{&two, 1}, {}}, obs);
            }).find("CartPole-v1: action = 2 is outside Discrete(2)"),
            std::string::npos);
  const float f = 1.0f;
  EXPECT_NE(ErrorOf([&] {
              cartpole->Step({{}, {&f, 1}}, obs);
            }).find("expects 1 and 0"),
            std::string::npos);

  auto pendulum = Make("Pendulum-v1");
  pendulum->Reset(0, obs);
  const float nan = NAN;
  EXPECT_NE(ErrorOf([&] {
              pendulum->Step({{}, {&nan, 1}}, obs);
            }).find("Pendulum-v1: action[0] is NaN"),
            std::string::npos);
  const float two_values[2] = {0.0f, 0.0f};
  EXPECT_NE(ErrorOf([&] {
              pendulum->Step({{}, two_values}, obs);
            }).find("must have shape (1,)"),
            std::string::npos);
  const int64_t minus = -1;
  EXPECT_THROW(Make("Acrobot-v1")->Step({{&minus, 1}, {}}, obs), Error);
  EXPECT_THROW(cartpole->SetState(std::vector<double>{1.0, 2.0}), Error);
}

TEST(ClassicControl, CartPoleRewardsAfterTermination) {
  for (bool sutton_barto : {false, true}) {
    auto env = Make("CartPole-v1", {{"sutton_barto_reward", sutton_barto}});
    float obs[4];
    env->Reset(0, obs);
    const int64_t right = 1;
    StepResult r;
    do {
      r = env->Step({{&right, 1}, {}}, obs);
    } while (!r.terminated);
    EXPECT_EQ(r.reward, sutton_barto ? -1.0 : 1.0);
    EXPECT_EQ(env->Step({{&right, 1}, {}}, obs).reward,
              sutton_barto ? -1.0 : 0.0);  // stepping past the end
  }
}

TEST(ClassicControl, ContinuousActionsOutsideTheBoxAreClipped) {
  // Pendulum: a torque of 4 acts as 2, but the cost uses the clipped value too.
  auto a = Make("Pendulum-v1"), b = Make("Pendulum-v1");
  float oa[3], ob[3];
  a->Reset(1, oa);
  b->Reset(1, ob);
  const float four = 4.0f, two = 2.0f;
  EXPECT_EQ(a->Step({{}, {&four, 1}}, oa).reward, b->Step({{}, {&two, 1}}, ob).reward);
  EXPECT_EQ(oa[2], ob[2]);
  // MountainCarContinuous: the force is clipped, the action cost is not.
  auto c = Make("MountainCarContinuous-v0"), d = Make("MountainCarContinuous-v0");
  float oc[2], od[2];
  c->Reset(1, oc);
  d->Reset(1, od);
  const float big = 1.5f, one = 1.0f;
  const double rc = c->Step({{}, {&big, 1}}, oc).reward, rd = d->Step({{}, {&one, 1}}, od).reward;
  EXPECT_EQ(oc[1], od[1]);
  EXPECT_EQ(rc, -std::pow(1.5, 2) * 0.1);
  EXPECT_EQ(rd, -0.1);
}

TEST(ClassicControl, MountainCarReachesTheGoalWithEnergyPumping) {
  auto env = Make("MountainCar-v0");
  float obs[2];
  env->Reset(0, obs);
  for (int t = 0; t < 200; ++t) {
    const int64_t a = obs[1] >= 0 ? 2 : 0;  // push along the velocity
    const StepResult r = env->Step({{&a, 1}, {}}, obs);
    EXPECT_EQ(r.reward, -1.0);
    if (r.terminated) {
      EXPECT_GE(obs[0], 0.5f);
      return;
    }
  }
  FAIL() << "energy pumping should reach the flag within 200 steps";
}

TEST(ClassicControl, RenderingFollowsTheState) {
  // state[0] is a position or angle here (MuJoCo and Box2D envs have their own render tests)
  for (const std::string id :
       {"CartPole-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1"}) {
    auto env = Make(id);
    std::vector<float> obs(static_cast<size_t>(env->observation_space().size()));
    env->Reset(0, obs.data());
    const Image a = env->Render();
    ASSERT_GT(a.width, 0) << id;
    ASSERT_EQ(a.rgb.size(), static_cast<size_t>(a.width * a.height * 3)) << id;
    EXPECT_TRUE(std::any_of(a.rgb.begin(), a.rgb.end(), [](uint8_t v) { return v < 100; }))
        << id << " is blank";
    std::vector<double> state = env->GetState();
    state[0] += 0.5;
    env->SetState(state);
    EXPECT_NE(env->Render().rgb, a.rgb) << id;
    state[0] -= 0.5;
    env->SetState(state);
    EXPECT_EQ(env->Render().rgb, a.rgb) << id << ": same state, same picture";
  }
}

TEST(ClassicControl, CartPoleFrameLooksLikeGymnasium) {
  auto env = Make("CartPole-v1");
  float obs[4];
  env->Reset(0, obs);
  env->SetState(std::vector<double>{0.0, 0.0, 0.0, 0.0});
  const Image img = env->Render();
  ASSERT_EQ(img.width, 600);
  ASSERT_EQ(img.height, 400);
  auto pixel = [&](int x, int y) {
    const uint8_t* p = &img.rgb[(static_cast<size_t>(y) * 600 + x) * 3];
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(pixel(10, 10), (std::array<int, 3>{255, 255, 255}));  // background
  EXPECT_EQ(pixel(290, 290), (std::array<int, 3>{0, 0, 0}));      // cart body (y-up 100 -> row 300)
  EXPECT_EQ(pixel(300, 200), (std::array<int, 3>{202, 152, 101}));  // upright pole above the cart
}

}  // namespace
}  // namespace rlforge::env
