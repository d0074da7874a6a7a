// LunarLander-v3 as gymnasium/envs/box2d/lunar_lander.py, on Debian's Box2D 2.4.1 (Gymnasium
// uses 2.3.10, so trajectories differ slightly; the formulas, constants and RNG draws are
// Gymnasium's). The exhaust particles are decoration in Gymnasium and are not simulated here.
#include <box2d/box2d.h>

#include <array>
#include <cmath>
#include <memory>

#include "rlforge/core/error.h"
#include "rlforge/envs/box2d/box2d_envs.h"
#include "rlforge/envs/box2d/ground_contacts.h"
#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs::box2d {
namespace {

constexpr double kFps = 50;
constexpr double kScale = 30.0;  // pixels per metre
constexpr double kMainEnginePower = 13.0;
constexpr double kSideEnginePower = 0.6;
constexpr double kInitialRandom = 1000.0;
constexpr std::array<std::array<double, 2>, 6> kLanderPoly = {
    {{-14, 17}, {-17, 0}, {-17, -10}, {17, -10}, {17, 0}, {14, 17}}};
constexpr double kLegAway = 20, kLegDown = 18, kLegW = 2, kLegH = 8;
constexpr double kLegSpringTorque = 40;
constexpr double kSideEngineHeight = 14.0, kSideEngineAway = 12.0;
constexpr double kViewportW = 600, kViewportH = 400;
constexpr double kW = kViewportW / kScale, kH = kViewportH / kScale;
constexpr int kChunks = 11;

// A body's pose and velocity: x, y, angle, vx, vy, angular velocity.
using Pose = std::array<double, 6>;
constexpr size_t kStateSize = kChunks + 3 * 6 + 2 + 1 + 2 + 2;

class LunarLander final : public env::Env {
 public:
  LunarLander(bool continuous, double gravity, bool enable_wind, double wind_power,
              double turbulence_power)
      : continuous_(continuous),
        gravity_(gravity),
        enable_wind_(enable_wind),
        wind_power_(wind_power),
        turbulence_power_(turbulence_power),
        obs_space_(Space::Box({-2.5, -2.5, -10, -10, -2 * M_PI, -10, 0, 0},
                              {2.5, 2.5, 10, 10, 2 * M_PI, 10, 1, 1}, {8})),
        act_space_(continuous ? Space::Box(-1.0, 1.0, {2}) : Space::Discrete(4)) {
    if (!(gravity > -12.0 && gravity < 0.0))
      throw Error("LunarLander-v3: kwarg 'gravity' must be in (-12, 0), got " +
                  std::to_string(gravity));
  }

  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }

  void Reset(std::optional<uint64_t> seed, void* obs) override {
    SeedRng(seed);
    // terrain: random chunk heights, flat around the helipad, smoothed
    std::array<double, kChunks + 1> height;
    for (double& h : height) h = np_random_.Uniform(0, kH / 2);
    for (int i = -2; i <= 2; ++i) height[kChunks / 2 + i] = kH / 4;
    std::array<double, kChunks> smooth;
    for (int i = 0; i < kChunks; ++i) {
      const double prev = height[(i - 1 + kChunks + 1) % (kChunks + 1)];  // Python's height[-1]
      smooth[i] = 0.33 * (prev + height[i] + height[i + 1]);
    }
    const Pose lander{kW / 2, kViewportH / kScale, 0, 0, 0, 0};
    Pose left{kW / 2 + kLegAway / kScale, kViewportH / kScale, -0.05, 0, 0, 0};
    Pose right{kW / 2 - kLegAway / kScale, kViewportH / kScale, 0.05, 0, 0, 0};
    Build(smooth, lander, {left, right});
    const double fx = np_random_.Uniform(-kInitialRandom, kInitialRandom);
    const double fy = np_random_.Uniform(-kInitialRandom, kInitialRandom);
    lander_->ApplyForceToCenter(b2Vec2(static_cast<float>(fx), static_cast<float>(fy)), true);
    if (enable_wind_) {  // v3: a new wind and turbulence phase every episode
      wind_idx_ = static_cast<double>(np_random_.Integers(19998) - 9999);
      torque_idx_ = static_cast<double>(np_random_.Integers(19998) - 9999);
    }
    prev_shaping_.reset();
    info_.Clear();
    // Gymnasium's reset returns the observation of one no-op step
    const int64_t noop = 0;
    const float zeros[2] = {0, 0};
    Advance(continuous_ ? Action{{}, {zeros, 2}} : Action{{&noop, 1}, {}}, obs);
  }

  env::StepResult Step(const Action& action, void* obs) override {
    CheckAction(action);
    info_.Clear();
    return Advance(action, obs);
  }

  void Observe(void* obs) const override { Observation(static_cast<float*>(obs)); }
  env::Image Render() const override;

  // [terrain heights (11), lander, left leg, right leg poses (3 x 6), leg contacts (2),
  //  game over, has previous shaping, previous shaping, wind index, torque index]
  std::vector<double> GetState() const override {
    std::vector<double> s(smooth_.begin(), smooth_.end());
    for (const b2Body* b : {lander_, legs_[0], legs_[1]}) {
      const Pose p = PoseOf(b);
      s.insert(s.end(), p.begin(), p.end());
    }
    s.insert(s.end(), {double(contacts_.on_ground[0]), double(contacts_.on_ground[1]),
                       double(contacts_.game_over), double(prev_shaping_.has_value()),
                       prev_shaping_.value_or(0.0), wind_idx_, torque_idx_});
    return s;
  }
  void SetState(std::span<const double> s) override {
    CheckStateSize(spec(), s, kStateSize);
    std::array<double, kChunks> smooth;
    std::copy_n(s.begin(), kChunks, smooth.begin());
    const auto pose = [&](size_t at) {
      Pose p;
      std::copy_n(s.begin() + at, 6, p.begin());
      return p;
    };
    Build(smooth, pose(kChunks), {pose(kChunks + 6), pose(kChunks + 12)});
    size_t i = kChunks + 18;
    contacts_.on_ground = {s[i] != 0, s[i + 1] != 0};
    contacts_.game_over = s[i + 2] != 0;
    prev_shaping_.reset();
    if (s[i + 3] != 0) prev_shaping_ = s[i + 4];
    wind_idx_ = s[i + 5];
    torque_idx_ = s[i + 6];
  }
  // steps draw engine dispersion from np_random, and Box2D warm-starts joints and contacts
  double replay_tolerance() const override { return INFINITY; }

 private:
  static Pose PoseOf(const b2Body* b) {
    const b2Vec2 p = b->GetPosition(), v = b->GetLinearVelocity();
    return {p.x, p.y, b->GetAngle(), v.x, v.y, b->GetAngularVelocity()};
  }

  // A fresh world (v3: nothing survives from the last episode) with the terrain and the bodies.
  void Build(const std::array<double, kChunks>& smooth, const Pose& lander,
             const std::array<Pose, 2>& legs) {
    world_ = std::make_unique<b2World>(b2Vec2(0.0f, static_cast<float>(gravity_)));
    world_->SetContactListener(&contacts_);
    smooth_ = smooth;
    b2BodyDef ground;
    moon_ = world_->CreateBody(&ground);
    b2EdgeShape floor;
    floor.SetTwoSided(b2Vec2(0, 0), b2Vec2(static_cast<float>(kW), 0));
    moon_->CreateFixture(&floor, 0.0f);
    for (int i = 0; i < kChunks - 1; ++i) {
      b2EdgeShape edge;
      edge.SetTwoSided(
          b2Vec2(static_cast<float>(ChunkX(i)), static_cast<float>(smooth[i])),
          b2Vec2(static_cast<float>(ChunkX(i + 1)), static_cast<float>(smooth[i + 1])));
      b2FixtureDef f;
      f.shape = &edge;
      f.density = 0;
      f.friction = 0.1f;
      moon_->CreateFixture(&f);
    }
    // the lander: collides only with the ground (category 0x10, mask 0x01)
    std::array<b2Vec2, 6> poly;
    for (size_t i = 0; i < poly.size(); ++i)
      poly[i].Set(static_cast<float>(kLanderPoly[i][0] / kScale),
                  static_cast<float>(kLanderPoly[i][1] / kScale));
    b2PolygonShape hull;
    hull.Set(poly.data(), static_cast<int32>(poly.size()));
    lander_ = CreateBody(lander, hull, 5.0f, 0.1f, 0x0010);
    for (int k = 0; k < 2; ++k) {
      const double i = k == 0 ? -1.0 : 1.0;
      b2PolygonShape box;
      box.SetAsBox(static_cast<float>(kLegW / kScale), static_cast<float>(kLegH / kScale));
      legs_[k] = CreateBody(legs[k], box, 1.0f, 0.2f, 0x0020);
      b2RevoluteJointDef rjd;
      rjd.bodyA = lander_;
      rjd.bodyB = legs_[k];
      rjd.localAnchorA.Set(0, 0);
      rjd.localAnchorB.Set(static_cast<float>(i * kLegAway / kScale),
                           static_cast<float>(kLegDown / kScale));
      rjd.enableMotor = true;
      rjd.enableLimit = true;
      rjd.maxMotorTorque = static_cast<float>(kLegSpringTorque);
      rjd.motorSpeed = static_cast<float>(0.3 * i);  // low enough not to jump back into the sky
      rjd.lowerAngle = static_cast<float>(i < 0 ? 0.9 - 0.5 : -0.9);
      rjd.upperAngle = static_cast<float>(i < 0 ? 0.9 : -0.9 + 0.5);
      world_->CreateJoint(&rjd);
    }
    contacts_.Watch(lander_, {legs_[0], legs_[1]});
  }

  b2Body* CreateBody(const Pose& p, const b2PolygonShape& shape, float density, float friction,
                     uint16 category) {
    b2Body* body = CreateGroundBody(*world_, p[0], p[1], p[2], shape, density, friction, category);
    // velocities after the mass (and so the centre) is known, or Box2D shifts them
    body->SetLinearVelocity(b2Vec2(static_cast<float>(p[3]), static_cast<float>(p[4])));
    body->SetAngularVelocity(static_cast<float>(p[5]));
    return body;
  }

  static double ChunkX(int i) { return kW / (kChunks - 1) * i; }

  env::StepResult Advance(const Action& action, void* obs) {
    if (enable_wind_ && !(contacts_.on_ground[0] || contacts_.on_ground[1])) {
      // wind and turbulence: tanh(sin(2 k t) + sin(pi k t)), k = 0.01, never periodic
      const double wind =
          std::tanh(std::sin(0.02 * wind_idx_) + std::sin(M_PI * 0.01 * wind_idx_)) * wind_power_;
      wind_idx_ += 1;
      lander_->ApplyForceToCenter(b2Vec2(static_cast<float>(wind), 0.0f), true);
      const double torque =
          std::tanh(std::sin(0.02 * torque_idx_) + std::sin(M_PI * 0.01 * torque_idx_)) *
          turbulence_power_;
      torque_idx_ += 1;
      lander_->ApplyTorque(static_cast<float>(torque), true);
    }
    // engines fire from a point dispersed at random; impulses push the lander the other way
    double main = 0.0, lateral = 0.0;  // continuous throttles, or the discrete choice
    if (continuous_) {
      main = std::clamp(double{action.continuous[0]}, -1.0, 1.0);
      lateral = std::clamp(double{action.continuous[1]}, -1.0, 1.0);
    }
    const int64_t a = continuous_ ? -1 : action.discrete[0];
    const double angle = lander_->GetAngle();
    const double tip[2] = {std::sin(angle), std::cos(angle)};
    const double side[2] = {-tip[1], tip[0]};
    const double dispersion[2] = {np_random_.Uniform(-1.0, 1.0) / kScale,
                                  np_random_.Uniform(-1.0, 1.0) / kScale};
    const b2Vec2 pos = lander_->GetPosition();
    double m_power = 0.0;
    if ((continuous_ && main > 0.0) || a == 2) {
      m_power = continuous_ ? (std::clamp(main, 0.0, 1.0) + 1.0) * 0.5 : 1.0;  // 50%..100%
      const double ox = tip[0] * (4 / kScale + 2 * dispersion[0]) + side[0] * dispersion[1];
      const double oy = -tip[1] * (4 / kScale + 2 * dispersion[0]) - side[1] * dispersion[1];
      Push(ox * kMainEnginePower * m_power, oy * kMainEnginePower * m_power, pos.x + ox,
           pos.y + oy);
    }
    double s_power = 0.0;
    if ((continuous_ && std::abs(lateral) > 0.5) || a == 1 || a == 3) {
      const double direction = continuous_ ? (lateral > 0 ? 1.0 : -1.0) : double(a - 2);
      s_power = continuous_ ? std::clamp(std::abs(lateral), 0.5, 1.0) : 1.0;
      const double ox = tip[0] * dispersion[0] +
                        side[0] * (3 * dispersion[1] + direction * kSideEngineAway / kScale);
      const double oy = -tip[1] * dispersion[0] -
                        side[1] * (3 * dispersion[1] + direction * kSideEngineAway / kScale);
      Push(ox * kSideEnginePower * s_power, oy * kSideEnginePower * s_power,
           pos.x + ox - tip[0] * 17 / kScale, pos.y + oy + tip[1] * kSideEngineHeight / kScale);
    }
    world_->Step(static_cast<float>(1.0 / kFps), 6 * 30, 2 * 30);

    float* s = static_cast<float*>(obs);
    const std::array<double, 8> state = Observation(s);
    // shaping: closer, slower, level and on its legs is better; the reward is its change
    const double shaping = -100 * std::sqrt(state[0] * state[0] + state[1] * state[1]) -
                           100 * std::sqrt(state[2] * state[2] + state[3] * state[3]) -
                           100 * std::abs(state[4]) + 10 * state[6] + 10 * state[7];
    double reward = prev_shaping_ ? shaping - *prev_shaping_ : 0.0;
    prev_shaping_ = shaping;
    reward -= m_power * 0.30;  // fuel
    reward -= s_power * 0.03;
    bool terminated = false;
    if (contacts_.game_over || std::abs(state[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!lander_->IsAwake()) {  // at rest: landed
      terminated = true;
      reward = +100;
    }
    return {reward, terminated, false};
  }

  void Push(double ix, double iy, double px, double py) {
    lander_->ApplyLinearImpulse(b2Vec2(static_cast<float>(-ix), static_cast<float>(-iy)),
                                b2Vec2(static_cast<float>(px), static_cast<float>(py)), true);
  }

  // The 8 observation values in float64 (written to `obs` as float32).
  std::array<double, 8> Observation(float* obs) const {
    const b2Vec2 p = lander_->GetPosition(), v = lander_->GetLinearVelocity();
    const double helipad_y = kH / 4;
    const std::array<double, 8> s = {(p.x - kW / 2) / (kW / 2),
                                     (p.y - (helipad_y + kLegDown / kScale)) / (kH / 2),
                                     v.x * (kW / 2) / kFps,
                                     v.y * (kH / 2) / kFps,
                                     lander_->GetAngle(),
                                     20.0 * lander_->GetAngularVelocity() / kFps,
                                     contacts_.on_ground[0] ? 1.0 : 0.0,
                                     contacts_.on_ground[1] ? 1.0 : 0.0};
    for (size_t i = 0; i < 8; ++i) obs[i] = static_cast<float>(s[i]);
    return s;
  }

  bool continuous_;
  double gravity_;
  bool enable_wind_;
  double wind_power_, turbulence_power_;
  Space obs_space_, act_space_;
  std::unique_ptr<b2World> world_;
  b2Body* moon_ = nullptr;
  b2Body* lander_ = nullptr;
  std::array<b2Body*, 2> legs_{};
  std::array<double, kChunks> smooth_{};  // terrain height at each chunk edge
  GroundContacts contacts_;               // hull and feet touching the ground
  std::optional<double> prev_shaping_;
  double wind_idx_ = 0, torque_idx_ = 0;  // phases of the wind and turbulence functions
};

env::Image LunarLander::Render() const {
  Canvas canvas(static_cast<int>(kViewportW), static_cast<int>(kViewportH), {255, 255, 255});
  for (int i = 0; i < kChunks - 1; ++i) {  // the sky above the terrain, black
    canvas.Polygon({{ChunkX(i) * kScale, smooth_[i] * kScale},
                    {ChunkX(i + 1) * kScale, smooth_[i + 1] * kScale},
                    {ChunkX(i + 1) * kScale, kViewportH},
                    {ChunkX(i) * kScale, kViewportH}},
                   {0, 0, 0});
  }
  for (const b2Body* body : {lander_, legs_[0], legs_[1]}) {
    for (const b2Fixture* f = body->GetFixtureList(); f; f = f->GetNext()) {
      const auto* shape = static_cast<const b2PolygonShape*>(f->GetShape());
      std::vector<Point> path;
      for (int v = 0; v < shape->m_count; ++v) {
        const b2Vec2 w = body->GetWorldPoint(shape->m_vertices[v]);
        path.emplace_back(w.x * kScale, w.y * kScale);
      }
      canvas.Polygon(path, {128, 102, 230});
      path.push_back(path.front());
      canvas.Polyline(path, {77, 77, 128});
    }
  }
  for (const double x : {ChunkX(kChunks / 2 - 1) * kScale, ChunkX(kChunks / 2 + 1) * kScale}) {
    const double y1 = kH / 4 * kScale, y2 = y1 + 50;  // flags at the helipad's ends
    canvas.Line({x, y1}, {x, y2}, {255, 255, 255});
    canvas.Polygon({{x, y2}, {x, y2 - 10}, {x + 25, y2 - 5}}, {204, 204, 0});
  }
  return canvas.ToImage();
}

}  // namespace

std::unique_ptr<env::Env> MakeLunarLander(const env::KwargReader& k) {
  return std::make_unique<LunarLander>(k.Bool("continuous"), k.Double("gravity"),
                                       k.Bool("enable_wind"), k.Double("wind_power"),
                                       k.Double("turbulence_power"));
}

void RegisterBox2d() {
  env::Register(env::EnvEntry{
      {"LunarLander-v3", 1000, 200.0},
      "land a rocket on the pad between the flags (Box2D)",
      {{"continuous", false, "Box(-1, 1, (2,)) throttles instead of 4 discrete actions"},
       {"gravity", -10.0, "gravity, in (-12, 0)"},
       {"enable_wind", false, "apply wind and turbulence while airborne"},
       {"wind_power", 15.0, "maximum linear wind"},
       {"turbulence_power", 1.5, "maximum rotational turbulence"}},
      MakeLunarLander});
  env::Register(env::EnvEntry{{"BipedalWalker-v3", 1600, 300.0},
                              "make a two-legged robot walk over rough terrain (Box2D)",
                              {{"hardcore", false, "add stumps, stairs and pits"}},
                              MakeBipedalWalker});
  env::Register(env::EnvEntry{
      {"CarRacing-v3", 1000, 900.0},
      "race a car around a random track, seen from above in 96x96 pixels (Box2D)",
      {{"continuous", true,
        "Box([-1, 0, 0], [1, 1, 1]) steer/gas/brake; false: 5 discrete actions"},
       {"domain_randomize", false, "draw new road, background and grass colours every reset"},
       {"lap_complete_percent", 0.95, "fraction of tiles to visit before the lap counts"},
       {"draw_observation", true,
        "rlforge only: false leaves the observation black, to time the physics alone"}},
      MakeCarRacing});
}

}  // namespace rlforge::envs::box2d
