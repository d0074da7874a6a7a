// CarRacing-v3: spaces, the track is a closed loop, visiting every tile once earns 1000, the
// lap rules, driving moves the car and the pixels, leaving the playfield costs 100, domain
// randomization, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "rlforge/envs/box2d/car_racing_track.h"
#include "test_util.h"

namespace rlforge::env {
namespace {

using envs::box2d::GenerateTrack;
using envs::box2d::kTrackDetailStep;
using envs::box2d::Track;
using rlforge::testing::ErrorOf;

// The env's state layout: [episode RNG (10), hull pose (6), 4 wheels x (pose (6), gas, brake,
// steer, phase, omega), total reward, previous total, visited tiles, time, new lap, tile flags]
constexpr size_t kHull = 10, kWheel0 = 16, kWheelSize = 11, kTileFlags = 16 + 44 + 5;
constexpr double kCarSize = 0.02;
constexpr double kWheelPos[4][2] = {{-55, +80}, {+55, +80}, {-55, -82}, {+55, -82}};

using Obs = std::array<uint8_t, 96 * 96 * 3>;

// Gymnasium's track for the episode the env is in: the state starts with the RNG it was drawn from.
Track TrackOf(const Env& env) {
  const std::vector<double> s = env.GetState();
  uint128 state = 0, inc = 0;
  for (int i = 3; i >= 0; --i) {
    state = (state << 32) | static_cast<uint32_t>(s[i]);
    inc = (inc << 32) | static_cast<uint32_t>(s[4 + i]);
  }
  Rng rng;
  rng.SetState(state, inc);
  rng.SetBuffered(s[8] != 0, static_cast<uint32_t>(s[9]));
  return GenerateTrack(rng);
}

// The car standing still at (x, y) heading `angle` (its wheels where the joints hold them).
void PlaceCar(std::vector<double>& s, double x, double y, double angle) {
  const double pose[6] = {x, y, angle, 0, 0, 0};
  std::copy_n(pose, 6, s.begin() + kHull);
  for (int k = 0; k < 4; ++k) {
    const double dx = kWheelPos[k][0] * kCarSize, dy = kWheelPos[k][1] * kCarSize;
    double* w = s.data() + kWheel0 + kWheelSize * k;
    w[0] = x + dx * std::cos(angle) - dy * std::sin(angle);
    w[1] = y + dx * std::sin(angle) + dy * std::cos(angle);
    w[2] = angle;
    w[3] = w[4] = w[5] = w[10] = 0;  // velocities, omega
  }
}

StepResult StepContinuous(Env& env, float steer, float gas, float brake, Obs& obs) {
  const float a[3] = {steer, gas, brake};
  return env.Step(Action{{}, {a, 3}}, obs.data());
}

double HullX(const Env& env) { return env.GetState()[kHull]; }
double HullY(const Env& env) { return env.GetState()[kHull + 1]; }

TEST(CarRacing, SpacesMatchGymnasiumV3) {
  auto env = Make("CarRacing-v3");
  const Space& obs = env->observation_space();
  EXPECT_EQ(obs.dtype(), DType::kUInt8);
  EXPECT_EQ(obs.shape(), (std::vector<int64_t>{96, 96, 3}));
  EXPECT_EQ(obs.low()[0], 0);
  EXPECT_EQ(obs.high()[0], 255);
  const Space& act = env->action_space();
  EXPECT_EQ(act.low(), (std::vector<double>{-1, 0, 0}));
  EXPECT_EQ(act.high(), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(Make("CarRacing-v3", {{"continuous", false}})->action_space().ToString(),
            "Discrete(5)");
  EXPECT_EQ(Lookup("CarRacing-v3").spec.max_episode_steps, 1000);
  EXPECT_EQ(Lookup("CarRacing-v3").spec.reward_threshold, 900.0);
}

TEST(CarRacing, TheTrackIsAClosedLoopOfEvenSteps) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    const Track track = GenerateTrack(rng);
    const size_t n = track.points.size();
    ASSERT_GT(n, 100u) << "seed " << seed;
    ASSERT_EQ(track.tiles.size(), n);
    double winding = 0;  // angle swept around the centre
    for (size_t i = 0; i < n; ++i) {
      const auto& p = track.points[i];
      const auto& q = track.points[(i + 1) % n];
      const double gap = std::hypot(q.x - p.x, q.y - p.y);
      if (i + 1 < n)
        EXPECT_NEAR(gap, kTrackDetailStep, 1e-9) << "seed " << seed << " step " << i;
      else  // Gymnasium's cut and its loose glue test: the closing tile is 1 to 3 steps long
        EXPECT_LT(gap, 4 * kTrackDetailStep) << "seed " << seed << ": the ends are apart";
      winding += std::remainder(std::atan2(q.y, q.x) - std::atan2(p.y, p.x), 2 * M_PI);
      // tile i+1 starts where tile i ends: they share an edge
      EXPECT_EQ(track.tiles[(i + 1) % n][3], track.tiles[i][0]);
      EXPECT_EQ(track.tiles[(i + 1) % n][2], track.tiles[i][1]);
    }
    EXPECT_NEAR(std::abs(winding), 2 * M_PI, 1e-9) << "seed " << seed << ": not one lap";
  }
}

TEST(CarRacing, TheSameSeedGivesTheSameTrackAndAnotherSeedAnother) {
  auto env = Make("CarRacing-v3");
  Obs a, b;
  env->Reset(5, a.data());
  const Track first = TrackOf(*env);
  env->Reset(6, b.data());
  EXPECT_NE(TrackOf(*env).points[7].x, first.points[7].x);
  EXPECT_NE(a, b);
  env->Reset(5, b.data());
  EXPECT_EQ(a, b);
  EXPECT_EQ(TrackOf(*env).points.size(), first.points.size());
  // the car starts on the first track point, heading along the track
  EXPECT_NEAR(HullX(*env), first.points[0].x, 1e-3);
  EXPECT_NEAR(HullY(*env), first.points[0].y, 1e-3);
}

// Drives the car over each tile in turn (set_state), collecting the tile rewards; stops at the
// end of the episode. Returns {tile rewards, steps}.
std::pair<double, size_t> VisitTiles(Env& env, const Track& track, size_t first, size_t count,
                                     StepResult* last) {
  const size_t n = track.points.size();
  Obs obs;
  double tiles = 0;
  size_t steps = 0;
  while (steps < count) {
    const size_t i = (first + steps) % n;
    const auto& p = track.points[i];
    const auto& q = track.points[(i + n - 1) % n];
    std::vector<double> s = env.GetState();
    PlaceCar(s, 0.5 * (p.x + q.x), 0.5 * (p.y + q.y), p.beta);
    env.SetState(s);
    *last = StepContinuous(env, 0, 0, 0, obs);
    tiles += last->reward + 0.1;  // the step's reward is its tile rewards less 0.1 per frame
    ++steps;
    if (last->terminated) break;
  }
  return {tiles, steps};
}

TEST(CarRacing, VisitingEveryTileOnceEarns1000AndFinishesTheLap) {
  for (uint64_t seed : {0, 1, 2}) {
    auto env = Make("CarRacing-v3");
    Obs obs;
    env->Reset(seed, obs.data());
    const Track track = TrackOf(*env);
    const size_t n = track.points.size();
    // the reset step touched the start tiles: the first step's reward carries them
    StepResult last;
    const auto [tiles, steps] = VisitTiles(*env, track, 1, n - 1, &last);
    // it ends when the last tile is touched: by the front wheels, one tile ahead of the car
    EXPECT_GE(steps, n - 2) << "seed " << seed << ": the episode ended early";
    EXPECT_NEAR(tiles, 1000.0, 1e-6) << "seed " << seed;
    EXPECT_TRUE(last.terminated);
    EXPECT_EQ(env->info().Get("lap_finished"), 1.0);
    const std::vector<double> s = env->GetState();
    for (size_t i = 0; i < n; ++i) EXPECT_TRUE(int(s[kTileFlags + i]) & 1) << "tile " << i;
  }
}

TEST(CarRacing, TheLapCountsOnceEnoughOfTheTrackIsVisited) {
  auto env = Make("CarRacing-v3", {{"lap_complete_percent", 0.5}});
  Obs obs;
  env->Reset(3, obs.data());
  const Track track = TrackOf(*env);
  const size_t n = track.points.size();
  StepResult last;
  const double tiles = VisitTiles(*env, track, 1, n * 6 / 10, &last).first;
  EXPECT_FALSE(last.terminated);
  const double more = VisitTiles(*env, track, 0, 1, &last).first;  // back at the start line
  EXPECT_TRUE(last.terminated);
  EXPECT_EQ(env->info().Get("lap_finished"), 1.0);
  EXPECT_NEAR(more, 0.0, 1e-9) << "the start tiles were visited already";
  EXPECT_NEAR(tiles, 1000.0 * (n * 6 / 10 + 2) / n, 1000.0 * 2 / n);
}

TEST(CarRacing, GasDrivesTheCarAlongTheTrackAndThePixelsFollow) {
  auto env = Make("CarRacing-v3");
  Obs first, obs;
  env->Reset(0, first.data());
  const Track track = TrackOf(*env);
  const double x0 = HullX(*env), y0 = HullY(*env);
  double total = 0;
  std::vector<Obs> frames;
  for (int t = 0; t < 100; ++t) {
    const StepResult r = StepContinuous(*env, 0, t < 60 ? 1.0f : 0.0f, 0, obs);
    total += r.reward;
    EXPECT_FALSE(r.terminated);
    if (t % 20 == 19) frames.push_back(obs);
  }
  // forward is the track's direction at the start: perpendicular to the heading's normal
  const double heading_x = -std::sin(track.points[0].beta),
               heading_y = std::cos(track.points[0].beta);
  const double moved = (HullX(*env) - x0) * heading_x + (HullY(*env) - y0) * heading_y;
  EXPECT_GT(moved, 20.0);
  EXPECT_GT(total, 10.0) << "tiles visited on the way";
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_NE(frames[i], frames[i - 1]) << i;
}

TEST(CarRacing, TheObservationShowsTheCarOnTheRoadFromAbove) {
  auto env = Make("CarRacing-v3");
  Obs obs;
  env->Reset(0, obs.data());
  for (int t = 0; t < 55; ++t) StepContinuous(*env, 0, 0, 0, obs);  // zoomed in after 1 s
  const auto px = [&](int row, int col) {
    const uint8_t* p = &obs[(row * 96 + col) * 3];
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  int red = 0;  // the hull at the lower middle of the frame
  for (int row = 64; row < 78; ++row)
    for (int col = 44; col < 53; ++col) red += px(row, col)[0] > 150 && px(row, col)[1] < 60;
  EXPECT_GE(red, 4);
  const auto road = px(50, 48);  // ahead of the car: grey road
  EXPECT_EQ(road[0], road[1]);
  EXPECT_EQ(road[1], road[2]);
  EXPECT_NEAR(road[0], 104, 4);
  const auto grass = px(50, 5);  // beside it: green
  EXPECT_GT(grass[1], grass[0] + 60);
  EXPECT_EQ(px(95, 2)[0] + px(95, 2)[1] + px(95, 2)[2], 0) << "the indicator strip is black";
}

TEST(CarRacing, DiscreteActionsGasBrakeAndSteer) {
  auto env = Make("CarRacing-v3", {{"continuous", false}});
  Obs obs;
  env->Reset(0, obs.data());
  const auto step = [&](int64_t a) { return env->Step(Action{{&a, 1}, {}}, obs.data()); };
  for (int t = 0; t < 50; ++t) step(3);
  const double speed = std::hypot(env->GetState()[kHull + 3], env->GetState()[kHull + 4]);
  EXPECT_GT(speed, 5.0);
  for (int t = 0; t < 50; ++t) step(4);
  EXPECT_LT(std::hypot(env->GetState()[kHull + 3], env->GetState()[kHull + 4]), 0.5 * speed);
  // action 1 turns the front wheels to -0.6 (the joint limit is 0.4), action 2 to +0.6
  for (int t = 0; t < 20; ++t) step(1);
  EXPECT_LT(env->GetState()[kWheel0 + 8], 0.0);
  EXPECT_NEAR(env->GetState()[kWheel0 + 2] - env->GetState()[kHull + 2], -0.4, 0.05);
  for (int t = 0; t < 20; ++t) step(2);
  EXPECT_NEAR(env->GetState()[kWheel0 + 2] - env->GetState()[kHull + 2], 0.4, 0.05);
}

TEST(CarRacing, LeavingThePlayfieldCosts100AndTerminates) {
  auto env = Make("CarRacing-v3");
  Obs obs;
  env->Reset(0, obs.data());
  std::vector<double> s = env->GetState();
  PlaceCar(s, 340, 0, 0);  // the playfield ends at 2000 / 6 = 333.3
  env->SetState(s);
  const StepResult r = StepContinuous(*env, 0, 0, 0, obs);
  EXPECT_EQ(r.reward, -100);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(env->info().Get("lap_finished"), 0.0);
}

TEST(CarRacing, DomainRandomizationRecoloursEveryReset) {
  const auto background = [](Env& env, uint64_t seed) {
    Obs obs;
    env.Reset(seed, obs.data());
    for (int t = 0; t < 60; ++t) StepContinuous(env, 0, 0, 0, obs);  // zoomed in
    return std::array<uint8_t, 3>{obs[0], obs[1], obs[2]};  // top-left corner: grass or field
  };
  auto plain = Make("CarRacing-v3");
  auto random = Make("CarRacing-v3", {{"domain_randomize", true}});
  EXPECT_EQ(background(*plain, 1)[1] >= 204, true) << "Gymnasium's greens";
  std::set<std::array<uint8_t, 3>> colours;
  for (uint64_t seed = 0; seed < 4; ++seed) colours.insert(background(*random, seed));
  EXPECT_GE(colours.size(), 3u);
  EXPECT_EQ(background(*random, 2), background(*random, 2)) << "seeded";
}

TEST(CarRacing, StateReRendersTheSameFrame) {
  auto env = Make("CarRacing-v3");
  auto other = Make("CarRacing-v3");
  Obs obs, again;
  env->Reset(4, obs.data());
  other->Reset(9, again.data());
  for (int t = 0; t < 70; ++t) StepContinuous(*env, 0.3f, 0.5f, 0, obs);
  other->SetState(env->GetState());  // rebuilds seed 4's track
  other->Observe(again.data());
  EXPECT_EQ(obs, again);
  EXPECT_EQ(env->Render().rgb, other->Render().rgb);
}

TEST(CarRacing, BadInputIsAClearError) {
  EXPECT_NE(ErrorOf([] {
              Make("CarRacing-v3", {{"lap_complete_percent", 1.5}});
            }).find("lap_complete_percent"),
            std::string::npos);
  auto env = Make("CarRacing-v3");
  Obs obs;
  env->Reset(0, obs.data());
  const float two[2] = {0, 0};
  EXPECT_NE(ErrorOf([&] {
              env->Step(Action{{}, {two, 2}}, obs.data());
            }).find("shape (3,)"),
            std::string::npos);
  std::vector<double> s = env->GetState();
  EXPECT_NE(ErrorOf([&] {
              env->SetState(std::vector<double>(s.begin(), s.end() - 1));
            }).find("values for this track"),
            std::string::npos);
  std::vector<double> bad = s;
  bad[4] = 2;  // an even PCG increment
  EXPECT_NE(ErrorOf([&] { env->SetState(bad); }).find("episode RNG"), std::string::npos);
  bad = s;
  bad[kTileFlags] = 300;
  EXPECT_NE(ErrorOf([&] { env->SetState(bad); }).find("tile flags"), std::string::npos);
  bad = s;
  bad[kHull] = NAN;
  EXPECT_NE(ErrorOf([&] { env->SetState(bad); }).find("not finite"), std::string::npos);
  auto discrete = Make("CarRacing-v3", {{"continuous", false}});
  discrete->Reset(0, obs.data());
  const int64_t five = 5;
  EXPECT_FALSE(ErrorOf([&] { discrete->Step(Action{{&five, 1}, {}}, obs.data()); }).empty());
}

}  // namespace
}  // namespace rlforge::env
