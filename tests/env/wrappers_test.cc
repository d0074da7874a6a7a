#include "rlforge/env/wrappers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"

namespace rlforge::env {
namespace {

const int64_t kPush = 1;
const Action kPushRight{{&kPush, 1}, {}};

TEST(Wrappers, TimeLimitTruncatesAtTheLimit) {
  auto env = Make("CartPole-v1", {{"max_episode_steps", int64_t{3}}});
  float obs[4];
  env->Reset(0, obs);
  // alternate pushes keep the pole up for 3 steps
  for (int t = 1; t <= 3; ++t) {
    const int64_t a = t % 2;
    const StepResult r = env->Step({{&a, 1}, {}}, obs);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, t == 3) << t;
  }
}

TEST(Wrappers, RecordEpisodeStatisticsReportsReturnAndLength) {
  RecordEpisodeStatistics env(Make("CartPole-v1"));
  float obs[4];
  env.Reset(0, obs);
  int steps = 0;
  StepResult r;
  do {
    r = env.Step(kPushRight, obs);
    ++steps;
    if (!r.terminated) EXPECT_FALSE(env.info().Get("episode.r").has_value());
  } while (!r.terminated && !r.truncated);
  EXPECT_EQ(env.info().Get("episode.l"), static_cast<double>(steps));
  EXPECT_EQ(env.info().Get("episode.r"), static_cast<double>(steps));  // reward 1 per step
  EXPECT_GE(*env.info().Get("episode.t"), 0.0);
}

TEST(Wrappers, ClipActionClipsToBounds) {
  ClipAction clipped(Make("Pendulum-v1"));
  auto plain = Make("Pendulum-v1");
  EXPECT_EQ(clipped.action_space().ToString(), "Box(-inf, inf, (1,), float32)");
  float o1[3], o2[3];
  clipped.Reset(5, o1);
  plain->Reset(5, o2);
  const float big = 7.0f, two = 2.0f;
  const StepResult r1 = clipped.Step({{}, {&big, 1}}, o1);
  const StepResult r2 = plain->Step({{}, {&two, 1}}, o2);
  EXPECT_EQ(r1.reward, r2.reward);
  EXPECT_EQ(std::vector<float>(o1, o1 + 3), std::vector<float>(o2, o2 + 3));
  EXPECT_THROW(ClipAction(Make("CartPole-v1")), Error);
}

TEST(Wrappers, RescaleActionMapsTheInterval) {
  RescaleAction scaled(Make("Pendulum-v1"), 0.0, 1.0);
  auto plain = Make("Pendulum-v1");
  EXPECT_EQ(scaled.action_space().ToString(), "Box(0.0, 1.0, (1,), float32)");
  for (const auto& [in, out] :
       std::vector<std::pair<float, float>>{{0.0f, -2.0f}, {1.0f, 2.0f}, {0.5f, 0.0f}}) {
    float o1[3], o2[3];
    scaled.Reset(1, o1);
    plain->Reset(1, o2);
    scaled.Step({{}, {&in, 1}}, o1);
    plain->Step({{}, {&out, 1}}, o2);
    EXPECT_EQ(o1[2], o2[2]) << in;
  }
}

TEST(Wrappers, NormalizeObservationStandardizesAndRestores) {
  NormalizeObservation env(Make("CartPole-v1"));
  float obs[4];
  env.Reset(0, obs);
  for (int i = 0; i < 2000; ++i) {
    const int64_t a = i % 2;
    const StepResult r = env.Step({{&a, 1}, {}}, obs);
    if (r.terminated || r.truncated) env.Reset(std::nullopt, obs);
  }
  EXPECT_NEAR(env.stats().count, 2000 + 1 + 1e-4, 200);
  // saved statistics restored into a fresh wrapper give the same normalized observation
  NormalizeObservation copy(Make("CartPole-v1"));
  copy.stats() = env.stats();
  env.update_stats = false;
  copy.update_stats = false;
  float a[4], b[4];
  env.Reset(9, a);
  copy.Reset(9, b);
  EXPECT_EQ(std::vector<float>(a, a + 4), std::vector<float>(b, b + 4));
  EXPECT_THROW(NormalizeObservation(std::make_unique<RenderObservation>(Make("CartPole-v1"))),
               Error);
}

TEST(Wrappers, NormalizeRewardScalesByReturnStd) {
  NormalizeReward env(Make("CartPole-v1"), 0.99);
  float obs[4];
  env.Reset(0, obs);
  StepResult r;
  for (int i = 0; i < 50; ++i) {
    const int64_t a = i % 2;
    r = env.Step({{&a, 1}, {}}, obs);
    if (r.terminated || r.truncated) env.Reset(std::nullopt, obs);
  }
  EXPECT_GT(env.discounted_return(), 1.0);
  EXPECT_NEAR(r.reward, 1.0 / std::sqrt(env.stats().var[0] + 1e-8), 1e-12);
  EXPECT_NE(r.reward, 1.0);
}

TEST(Wrappers, PixelPipelineShapes) {
  auto pixels = std::make_unique<RenderObservation>(Make("CartPole-v1"));
  EXPECT_EQ(pixels->observation_space().ToString(), "Box(0, 255, (400, 600, 3), uint8)");
  auto gray = std::make_unique<GrayScale>(std::move(pixels), false);
  auto small = std::make_unique<ResizeObservation>(std::move(gray), 84, 84);
  FrameStack stacked(std::move(small), 4);
  EXPECT_EQ(stacked.observation_space().shape(), (std::vector<int64_t>{4, 84, 84}));
  std::vector<uint8_t> obs(stacked.observation_space().nbytes());
  stacked.Reset(0, obs.data());
  const size_t frame = 84 * 84;
  // after reset all four frames are the first frame
  for (int k = 1; k < 4; ++k)
    EXPECT_TRUE(std::equal(obs.begin(), obs.begin() + frame, obs.begin() + k * frame));
  const std::vector<uint8_t> first(obs.begin(), obs.begin() + frame);
  EXPECT_TRUE(std::any_of(first.begin(), first.end(),
                          [](uint8_t v) { return v < 128; }));  // the cart is dark
  for (int i = 0; i < 5; ++i) stacked.Step(kPushRight, obs.data());
  // the newest frame is last and differs from the oldest (the cart moved)
  EXPECT_FALSE(std::equal(obs.begin(), obs.begin() + frame, obs.begin() + 3 * frame));
}

TEST(Wrappers, ResizeAveragesAreas) {
  // A 2x2 downscale of a checkerboard averages to mid-gray.
  class Checker final : public Env {
   public:
    Checker() : space_(Space::Box(0, 255, {4, 4, 1}, DType::kUInt8)), act_(Space::Discrete(1)) {}
    const Space& observation_space() const override { return space_; }
    const Space& action_space() const override { return act_; }
    void Reset(std::optional<uint64_t>, void* obs) override { Observe(obs); }
    StepResult Step(const Action&, void* obs) override {
      Observe(obs);
      return {};
    }
    void Observe(void* obs) const override {
      auto* p = static_cast<uint8_t*>(obs);
      for (int i = 0; i < 16; ++i) p[i] = ((i / 4 + i % 4) % 2) ? 200 : 0;
    }
    Image Render() const override { return {}; }
    std::vector<double> GetState() const override { return {}; }
    void SetState(std::span<const double>) override {}

   private:
    Space space_, act_;
  };
  ResizeObservation resized(std::make_unique<Checker>(), 2, 2);
  uint8_t out[4];
  resized.Reset(0, out);
  for (uint8_t v : out) EXPECT_EQ(v, 100);
}

}  // namespace
}  // namespace rlforge::env
