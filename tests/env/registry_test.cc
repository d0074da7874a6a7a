#include "rlforge/env/registry.h"

#include <gtest/gtest.h>

#include "rlforge/core/error.h"
#include "rlforge/env/wrappers.h"
#include "test_util.h"

namespace rlforge::env {
namespace {

using rlforge::testing::ErrorOf;

TEST(Registry, HasTheClassicControlIds) {
  const auto ids = RegisteredIds();
  for (const char* id :
       {"CartPole-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1"}) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  }
  EXPECT_EQ(Lookup("CartPole-v1").spec.max_episode_steps, 500);
  EXPECT_EQ(Lookup("CartPole-v1").spec.reward_threshold, 475.0);
  EXPECT_EQ(Lookup("Pendulum-v1").spec.reward_threshold, std::nullopt);
  EXPECT_EQ(Lookup("MountainCarContinuous-v0").spec.max_episode_steps, 999);
}

TEST(Registry, MakeWrapsInTimeLimit) {
  auto env = Make("Acrobot-v1");
  auto* limit = FindWrapper<TimeLimit>(env.get());
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->max_episode_steps(), 500);
  EXPECT_EQ(env->spec().id, "Acrobot-v1");
  auto short_env = Make("Acrobot-v1", {{"max_episode_steps", int64_t{7}}});
  EXPECT_EQ(FindWrapper<TimeLimit>(short_env.get())->max_episode_steps(), 7);
}

TEST(Registry, UnknownIdSuggestsCloseIds) {
  const std::string msg = ErrorOf([] { Make("CartPole-v0"); });
  EXPECT_NE(msg.find("unknown env id 'CartPole-v0'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'CartPole-v1'"), std::string::npos) << msg;
  EXPECT_NE(ErrorOf([] { Make("mountaincar-v0"); }).find("'MountainCar-v0'"), std::string::npos);
  EXPECT_EQ(ErrorOf([] { Make("Zzzzzzzzzzzzzzzz"); }).find("did you mean"), std::string::npos);
}

TEST(Registry, KwargsAreValidated) {
  EXPECT_NE(ErrorOf([] {
              Make("CartPole-v1", {{"gravity", 3.0}});
            }).find("unknown kwarg 'gravity'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              Make("Pendulum-v1", {{"g", std::string("x")}});
            }).find("kwarg 'g': expected a number"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              Make("CartPole-v1", {{"sutton_barto_reward", int64_t{1}}});
            }).find("expected a bool"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              Make("CartPole-v1", {{"max_episode_steps", int64_t{0}}});
            }).find("positive integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              Make("CartPole-v1", {{"render_mode", std::string("human")}});
            }).find("rgb_array"),
            std::string::npos);
  EXPECT_NO_THROW(Make("Pendulum-v1", {{"g", int64_t{9}}}));  // ints widen to numbers
}

TEST(Registry, ParseKwargsTypesValues) {
  const Kwargs k = ParseKwargs({"a=true", "b=3", "c=2.5", "d=hello", "e=-1e-3"});
  EXPECT_EQ(std::get<bool>(k.at("a")), true);
  EXPECT_EQ(std::get<int64_t>(k.at("b")), 3);
  EXPECT_EQ(std::get<double>(k.at("c")), 2.5);
  EXPECT_EQ(std::get<std::string>(k.at("d")), "hello");
  EXPECT_EQ(std::get<double>(k.at("e")), -1e-3);
  EXPECT_THROW(ParseKwargs({"novalue"}), Error);
  EXPECT_THROW(ParseKwargs({"=3"}), Error);
}

TEST(Registry, KwargsChangeTheDynamics) {
  auto normal = Make("Pendulum-v1");
  auto heavy = Make("Pendulum-v1", {{"g", 20.0}});
  float o1[3], o2[3];
  normal->Reset(0, o1);
  heavy->Reset(0, o2);
  const float torque = 0.0f;
  normal->Step({{}, {&torque, 1}}, o1);
  heavy->Step({{}, {&torque, 1}}, o2);
  EXPECT_NE(o1[2], o2[2]);
}

}  // namespace
}  // namespace rlforge::env
