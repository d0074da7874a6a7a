#include "rlforge/core/spaces.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"

namespace rlforge {
namespace {

TEST(Spaces, PrintLikeGymnasium) {
  EXPECT_EQ(Space::Box(-2.0, 2.0, {1}).ToString(), "Box(-2.0, 2.0, (1,), float32)");
  EXPECT_EQ(Space::Box(0, 255, {96, 96, 3}, DType::kUInt8).ToString(),
            "Box(0, 255, (96, 96, 3), uint8)");
  EXPECT_EQ(Space::Box({-1.0, 0.0, 0.0}, {1.0, 1.0, 1.0}, {3}).ToString(),
            "Box([-1.0 0.0 0.0], 1.0, (3,), float32)");
  EXPECT_EQ(Space::Box({-1.2, -0.07}, {0.6, 0.07}, {2}).ToString(),
            "Box([-1.2 -0.07], [0.6 0.07], (2,), float32)");
  EXPECT_EQ(Space::Box(-INFINITY, INFINITY, {2}).ToString(), "Box(-inf, inf, (2,), float32)");
  EXPECT_EQ(Space::Discrete(2).ToString(), "Discrete(2)");
  EXPECT_EQ(Space::Discrete(3, -1).ToString(), "Discrete(3, start=-1)");
  EXPECT_EQ(Space::MultiDiscrete({3, 2}).ToString(), "MultiDiscrete([3 2])");
  EXPECT_EQ(Space::MultiBinary(4).ToString(), "MultiBinary(4)");
  EXPECT_EQ(Space::Composite({3, 2}, Space::Box(-1.0, 1.0, {2})).ToString(),
            "Composite(discrete=[3, 2], continuous=Box(-1.0, 1.0, (2,), float32))");
}

TEST(Spaces, ContainsAndNamesTheBadElement) {
  const Space d = Space::Discrete(3, -1);
  const int64_t ok = 1, bad = 2;
  EXPECT_TRUE(d.Contains({{&ok, 1}, {}}));
  EXPECT_NE(d.Check({{&bad, 1}, {}}).find("expected -1 <= a < 2"), std::string::npos);
  const Space box = Space::Box(-1.0, 1.0, {2});
  const float inside[2] = {0.5f, -1.0f}, outside[2] = {0.5f, 1.5f}, nan[2] = {NAN, 0.0f};
  EXPECT_TRUE(box.Contains({{}, inside}));
  EXPECT_NE(box.Check({{}, outside}).find("action[1] = 1.5 is outside"), std::string::npos);
  EXPECT_NE(box.Check({{}, nan}).find("NaN"), std::string::npos);
  EXPECT_NE(box.Check({{}, std::span<const float>(inside, 1)}).find("expects 0 and 2"),
            std::string::npos);
  const double obs[2] = {0.0, 2.0};
  EXPECT_FALSE(box.Contains(std::span<const double>(obs)));
}

TEST(Spaces, InvalidConstructionIsAnError) {
  EXPECT_THROW(Space::Discrete(0), Error);
  EXPECT_THROW(Space::Box(1.0, -1.0, {2}), Error);
  EXPECT_THROW(Space::Box({0.0}, {1.0, 2.0}, {2}), Error);
  EXPECT_THROW(Space::MultiDiscrete({2, 0}), Error);
  EXPECT_THROW(Space::Composite({2}, Space::Discrete(2)), Error);
}

TEST(Spaces, SamplesAreMembers) {
  Rng rng(0);
  for (const Space& s :
       {Space::Discrete(5, 2), Space::MultiDiscrete({3, 4}), Space::MultiBinary(6),
        Space::Box(-3.0, 3.0, {4}), Space::Composite({2, 3}, Space::Box(0.0, 1.0, {2}))}) {
    std::vector<int64_t> d(static_cast<size_t>(s.num_discrete()));
    std::vector<float> c(static_cast<size_t>(s.num_continuous()));
    for (int i = 0; i < 200; ++i) {
      s.Sample(rng, d, c);
      EXPECT_TRUE(s.Contains({d, c})) << s.ToString();
    }
  }
}

TEST(Spaces, FlattenRoundTrips) {
  const Space s = Space::Composite({3, 2}, Space::Box(-1.0, 1.0, {2}));
  EXPECT_EQ(s.FlatDim(), 7);
  const int64_t d[2] = {2, 1};
  const float c[2] = {0.25f, -0.5f};
  std::vector<float> flat(7);
  s.Flatten({d, c}, flat);
  EXPECT_EQ(flat, (std::vector<float>{0, 0, 1, 0, 1, 0.25f, -0.5f}));
  std::vector<int64_t> d2(2);
  std::vector<float> c2(2);
  s.Unflatten(flat, d2, c2);
  EXPECT_EQ(d2, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(c2, (std::vector<float>{0.25f, -0.5f}));
  const Space disc = Space::Discrete(4, 10);
  const int64_t a = 12;
  std::vector<float> one_hot(4);
  disc.Flatten({{&a, 1}, {}}, one_hot);
  EXPECT_EQ(one_hot, (std::vector<float>{0, 0, 1, 0}));
}

// Gymnasium's action_space.seed(s); action_space.sample() is reproduced bit for bit.
void ExpectSampledActionsMatchGolden(const std::string& file, const Space& space) {
  std::ifstream in(std::string(RLFORGE_GOLDEN_DIR) + "/classic_control/" + file);
  const auto episodes = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& ep : episodes) {
    if (!ep.contains("action_seed")) continue;
    Rng rng(ep["action_seed"].get<uint64_t>());
    std::vector<int64_t> d(static_cast<size_t>(space.num_discrete()));
    std::vector<float> c(static_cast<size_t>(space.num_continuous()));
    for (const auto& step : ep["steps"]) {
      space.Sample(rng, d, c);
      if (space.is_discrete()) {
        ASSERT_EQ(d[0], step["action"].get<int64_t>()) << file;
      } else {
        ASSERT_EQ(c[0], static_cast<float>(step["action"][0].get<double>())) << file;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 30) << file;
}

TEST(Spaces, SampleMatchesGymnasiumActionSampling) {
  ExpectSampledActionsMatchGolden("CartPole-v1.json", Space::Discrete(2));
  ExpectSampledActionsMatchGolden("MountainCar-v0.json", Space::Discrete(3));
  ExpectSampledActionsMatchGolden("Acrobot-v1.json", Space::Discrete(3));
  ExpectSampledActionsMatchGolden("Pendulum-v1.json", Space::Box(-2.0, 2.0, {1}));
  ExpectSampledActionsMatchGolden("MountainCarContinuous-v0.json", Space::Box(-1.0, 1.0, {1}));
}

}  // namespace
}  // namespace rlforge
