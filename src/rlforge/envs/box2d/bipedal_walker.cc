// BipedalWalker-v3 (and hardcore=True) as gymnasium/envs/box2d/bipedal_walker.py, on Debian's
// Box2D 2.4.1: terrain generation with grass, stumps, stairs and pits from the seeded RNG, clouds,
// hull and two two-segment legs with motors, 10 lidar rays (closest hit), forward shaping, torque
// cost, -100 for a fall. Gymnasium's terrain-metadata reset option is not supported.
#include <box2d/box2d.h>

#include <array>
#include <cmath>
#include <memory>

#include "rlforge/core/error.h"
#include "rlforge/envs/box2d/box2d_envs.h"
#include "rlforge/envs/box2d/episode_rng.h"
#include "rlforge/envs/box2d/ground_contacts.h"
#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs::box2d {
namespace {

constexpr double kFps = 50;
constexpr double kScale = 30.0;
constexpr double kMotorsTorque = 80;
constexpr double kSpeedHip = 4, kSpeedKnee = 6;
constexpr double kLidarRange = 160 / kScale;
constexpr double kInitialRandom = 5;
constexpr std::array<std::array<double, 2>, 5> kHullPoly = {
    {{-30, 9}, {6, 9}, {34, 1}, {34, -8}, {-30, -8}}};
constexpr double kLegDown = -8 / kScale;
constexpr double kLegW = 8 / kScale, kLegH = 34 / kScale;
constexpr double kViewportW = 600, kViewportH = 400;
constexpr double kTerrainStep = 14 / kScale;
constexpr int kTerrainLength = 200;  // in steps
constexpr double kTerrainHeight = kViewportH / kScale / 4;
constexpr int kTerrainGrass = 10;     // grass stretch between obstacles, in steps
constexpr int kTerrainStartpad = 20;  // in steps
constexpr float kFriction = 2.5f;

using Pose = std::array<double, 6>;  // x, y, angle, vx, vy, angular velocity
constexpr size_t kStateSize = kRngWords + 5 * 6 + 2 + 1 + 2;

class BipedalWalker final : public env::Env, private b2RayCastCallback {
 public:
  explicit BipedalWalker(bool hardcore)
      : hardcore_(hardcore),
        obs_space_(Space::Box(Bounds(-1), Bounds(1), {24})),
        act_space_(Space::Box(-1.0, 1.0, {4})) {}

  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }

  void Reset(std::optional<uint64_t> seed, void* obs) override {
    SeedRng(seed);
    episode_rng_ = RngWords(np_random_);
    Build(np_random_);
    info_.Clear();
    const float zeros[4] = {0, 0, 0, 0};
    Advance(Action{{}, {zeros, 4}}, obs);  // Gymnasium's reset returns a no-op step
  }

  env::StepResult Step(const Action& action, void* obs) override {
    CheckAction(action);
    info_.Clear();
    return Advance(action, obs);
  }

  void Observe(void* obs) const override {  // casts the lidar rays again: not const in Box2D
    const_cast<BipedalWalker*>(this)->Observation(static_cast<float*>(obs));
  }
  env::Image Render() const override;

  // [terrain RNG (10), hull and the 4 leg segments' poses (5 x 6), lower-leg contacts (2),
  //  game over, has previous shaping, previous shaping]
  std::vector<double> GetState() const override {
    std::vector<double> s(episode_rng_.begin(), episode_rng_.end());
    for (const b2Body* b : Bodies()) {
      const b2Vec2 p = b->GetPosition(), v = b->GetLinearVelocity();
      s.insert(s.end(), {p.x, p.y, b->GetAngle(), v.x, v.y, b->GetAngularVelocity()});
    }
    s.insert(s.end(), {double(contacts_.on_ground[0]), double(contacts_.on_ground[1]),
                       double(contacts_.game_over), double(prev_shaping_.has_value()),
                       prev_shaping_.value_or(0.0)});
    return s;
  }
  // Rebuilds the episode's terrain from its RNG if it is not the current one, then places the
  // walker; the env's own RNG is left as it is.
  void SetState(std::span<const double> s) override {
    CheckStateSize(spec(), s, kStateSize);
    RngWordArray words;
    std::copy_n(s.begin(), kRngWords, words.begin());
    if (!world_ || words != episode_rng_) {
      Rng terrain = RngFromWords(words, spec().id);
      episode_rng_ = words;
      Build(terrain);
    }
    const auto bodies = Bodies();
    for (size_t k = 0; k < bodies.size(); ++k) {
      const double* p = s.data() + kRngWords + 6 * k;
      bodies[k]->SetTransform(b2Vec2(float(p[0]), float(p[1])), float(p[2]));
      bodies[k]->SetLinearVelocity(b2Vec2(float(p[3]), float(p[4])));
      bodies[k]->SetAngularVelocity(float(p[5]));
      bodies[k]->SetAwake(true);
    }
    const size_t i = kRngWords + 30;
    contacts_.on_ground = {s[i] != 0, s[i + 1] != 0};
    contacts_.game_over = s[i + 2] != 0;
    prev_shaping_.reset();
    if (s[i + 3] != 0) prev_shaping_ = s[i + 4];
  }
  // Box2D keeps joint and contact impulses (warm starts) that the state leaves out
  double replay_tolerance() const override { return 0.05; }

 private:
  static std::vector<double> Bounds(double sign) {
    std::vector<double> b = {M_PI, 5, 5, 5, M_PI, 5, M_PI, 5, 5, M_PI, 5, M_PI, 5, 5};
    const std::array<size_t, 2> contacts = {8, 13};
    for (size_t i = 0; i < b.size(); ++i) b[i] *= sign;
    if (sign < 0)
      for (size_t c : contacts) b[c] = 0.0;
    b.resize(24, sign);  // lidar fractions in [-1, 1] as Gymnasium declares
    return b;
  }

  std::array<b2Body*, 5> Bodies() const { return {hull_, legs_[0], legs_[1], legs_[2], legs_[3]}; }

  // A fresh world: terrain and clouds from `rng`, the walker standing at the start with a push.
  void Build(Rng& rng) {
    world_ = std::make_unique<b2World>(b2Vec2(0.0f, -10.0f));
    world_->SetContactListener(&contacts_);
    obstacles_.clear();
    prev_shaping_.reset();
    GenerateTerrain(rng);
    GenerateClouds(rng);
    const double init_x = kTerrainStep * kTerrainStartpad / 2;
    const double init_y = kTerrainHeight + 2 * kLegH;
    std::array<b2Vec2, 5> poly;
    for (size_t i = 0; i < poly.size(); ++i)
      poly[i].Set(float(kHullPoly[i][0] / kScale), float(kHullPoly[i][1] / kScale));
    b2PolygonShape hull;
    hull.Set(poly.data(), 5);
    hull_ = Dynamic(init_x, init_y, 0.0, hull, 5.0f, 0.1f);
    hull_->ApplyForceToCenter(b2Vec2(float(rng.Uniform(-kInitialRandom, kInitialRandom)), 0), true);
    for (int k = 0; k < 2; ++k) {
      const double i = k == 0 ? -1.0 : 1.0;
      b2PolygonShape upper, lower;
      upper.SetAsBox(float(kLegW / 2), float(kLegH / 2));
      lower.SetAsBox(float(0.8 * kLegW / 2), float(kLegH / 2));
      legs_[2 * k] = Dynamic(init_x, init_y - kLegH / 2 - kLegDown, i * 0.05, upper, 1.0f, 0.2f);
      joints_[2 * k] = Joint(hull_, legs_[2 * k], kLegDown, kLegH / 2, i, -0.8, 1.1);
      legs_[2 * k + 1] =
          Dynamic(init_x, init_y - kLegH * 3 / 2 - kLegDown, i * 0.05, lower, 1.0f, 0.2f);
      joints_[2 * k + 1] =
          Joint(legs_[2 * k], legs_[2 * k + 1], -kLegH / 2, kLegH / 2, 1, -1.6, -0.1);
    }
    contacts_.Watch(hull_, {legs_[1], legs_[3]});
  }

  b2Body* Dynamic(double x, double y, double angle, const b2PolygonShape& shape, float density,
                  float friction) {
    return CreateGroundBody(*world_, x, y, angle, shape, density, friction, 0x0020);
  }

  b2RevoluteJoint* Joint(b2Body* a, b2Body* b, double anchor_a_y, double anchor_b_y, double speed,
                         double lower, double upper) {
    b2RevoluteJointDef rjd;
    rjd.bodyA = a;
    rjd.bodyB = b;
    rjd.localAnchorA.Set(0, float(anchor_a_y));
    rjd.localAnchorB.Set(0, float(anchor_b_y));
    rjd.enableMotor = true;
    rjd.enableLimit = true;
    rjd.maxMotorTorque = float(kMotorsTorque);
    rjd.motorSpeed = float(speed);
    rjd.lowerAngle = float(lower);
    rjd.upperAngle = float(upper);
    return static_cast<b2RevoluteJoint*>(world_->CreateJoint(&rjd));
  }

  void StaticPolygon(const std::vector<std::array<double, 2>>& points) {
    std::vector<b2Vec2> v;
    for (const auto& p : points) v.emplace_back(float(p[0]), float(p[1]));
    b2PolygonShape shape;
    shape.Set(v.data(), static_cast<int32>(v.size()));
    b2BodyDef def;
    b2Body* body = world_->CreateBody(&def);
    b2FixtureDef f;
    f.shape = &shape;
    f.friction = kFriction;
    body->CreateFixture(&f);
    obstacles_.push_back(points);
  }

  // Gymnasium's terrain state machine: grass drifting back toward TERRAIN_HEIGHT, and in hardcore
  // mode a random obstacle (stump, stairs or pit) after each grass stretch.
  void GenerateTerrain(Rng& rng) {
    enum { kGrass, kStump, kStairs, kPit, kStates };
    int state = kGrass;
    double velocity = 0.0, y = kTerrainHeight, original_y = 0;
    int64_t counter = kTerrainStartpad;
    bool oneshot = false;
    int64_t stair_steps = 0, stair_width = 0, stair_height = 0;
    terrain_x_.clear();
    terrain_y_.clear();
    for (int i = 0; i < kTerrainLength; ++i) {
      const double x = i * kTerrainStep;
      terrain_x_.push_back(x);
      if (state == kGrass && !oneshot) {
        const double d = kTerrainHeight - y;
        velocity = 0.8 * velocity + 0.01 * double((d > 0) - (d < 0));
        if (i > kTerrainStartpad) velocity += rng.Uniform(-1, 1) / kScale;
        y += velocity;
      } else if (state == kPit && oneshot) {
        counter = 3 + rng.Integers(2);
        const std::vector<std::array<double, 2>> poly = {{x, y},
                                                         {x + kTerrainStep, y},
                                                         {x + kTerrainStep, y - 4 * kTerrainStep},
                                                         {x, y - 4 * kTerrainStep}};
        StaticPolygon(poly);
        auto far = poly;
        for (auto& p : far) p[0] += kTerrainStep * double(counter);
        StaticPolygon(far);
        counter += 2;
        original_y = y;
      } else if (state == kPit && !oneshot) {
        y = original_y;
        if (counter > 1) y -= 4 * kTerrainStep;
      } else if (state == kStump && oneshot) {
        counter = 1 + rng.Integers(2);
        const double c = double(counter);
        StaticPolygon({{x, y},
                       {x + c * kTerrainStep, y},
                       {x + c * kTerrainStep, y + c * kTerrainStep},
                       {x, y + c * kTerrainStep}});
      } else if (state == kStairs && oneshot) {
        stair_height = rng.Random() > 0.5 ? 1 : -1;
        stair_width = 4 + rng.Integers(1);
        stair_steps = 3 + rng.Integers(2);
        original_y = y;
        for (int64_t s = 0; s < stair_steps; ++s) {
          const double x0 = x + double(s * stair_width) * kTerrainStep;
          const double x1 = x + double((1 + s) * stair_width) * kTerrainStep;
          const double top = y + double(s * stair_height) * kTerrainStep;
          const double bottom = y + double(-1 + s * stair_height) * kTerrainStep;
          StaticPolygon({{x0, top}, {x1, top}, {x1, bottom}, {x0, bottom}});
        }
        counter = stair_steps * stair_width;
      } else if (state == kStairs && !oneshot) {
        const double s = double(stair_steps * stair_width - counter - stair_height);
        const double n = s / double(stair_width);
        y = original_y + (n * double(stair_height)) * kTerrainStep;
      }
      oneshot = false;
      terrain_y_.push_back(y);
      counter -= 1;
      if (counter == 0) {
        counter = kTerrainGrass / 2 + rng.Integers(kTerrainGrass - kTerrainGrass / 2);
        if (state == kGrass && hardcore_) {
          state = 1 + static_cast<int>(rng.Integers(kStates - 1));
        } else {
          state = kGrass;
        }
        oneshot = true;
      }
    }
    b2BodyDef def;
    b2Body* ground = world_->CreateBody(&def);
    for (int i = 0; i < kTerrainLength - 1; ++i) {
      b2EdgeShape edge;
      edge.SetTwoSided(b2Vec2(float(terrain_x_[i]), float(terrain_y_[i])),
                       b2Vec2(float(terrain_x_[i + 1]), float(terrain_y_[i + 1])));
      b2FixtureDef f;
      f.shape = &edge;
      f.friction = kFriction;
      f.filter.categoryBits = 0x0001;
      ground->CreateFixture(&f);
    }
  }

  void GenerateClouds(Rng& rng) {
    clouds_.clear();
    for (int c = 0; c < kTerrainLength / 20; ++c) {
      const double x = rng.Uniform(0, kTerrainLength) * kTerrainStep;
      const double y = kViewportH / kScale * 3 / 4;
      std::vector<Point> poly;
      for (int a = 0; a < 5; ++a) {
        const double px =
            x + 15 * kTerrainStep * std::sin(3.14 * 2 * a / 5) + rng.Uniform(0, 5 * kTerrainStep);
        const double py =
            y + 5 * kTerrainStep * std::cos(3.14 * 2 * a / 5) + rng.Uniform(0, 5 * kTerrainStep);
        poly.emplace_back(px, py);
      }
      clouds_.push_back(poly);
    }
  }

  // lidar: the closest terrain hit along the ray (v3)
  float ReportFixture(b2Fixture* fixture, const b2Vec2&, const b2Vec2&, float fraction) override {
    if ((fixture->GetFilterData().categoryBits & 1) == 0) return -1;
    ray_fraction_ = fraction;
    return fraction;
  }

  env::StepResult Advance(const Action& action, void* obs) {
    // motors: full speed in the action's direction, torque in proportion to its size
    const std::array<double, 4> speed = {kSpeedHip, kSpeedKnee, kSpeedHip, kSpeedKnee};
    double torque_cost = 0.0;
    for (int j = 0; j < 4; ++j) {
      const double a = action.continuous[j];
      joints_[j]->SetMotorSpeed(float(speed[j] * double((a > 0) - (a < 0))));
      joints_[j]->SetMaxMotorTorque(float(kMotorsTorque * std::clamp(std::abs(a), 0.0, 1.0)));
      torque_cost += 0.00035 * kMotorsTorque * std::clamp(std::abs(a), 0.0, 1.0);
    }
    world_->Step(float(1.0 / kFps), 6 * 30, 2 * 30);
    const std::array<double, 24> state = Observation(static_cast<float*>(obs));
    const double x = hull_->GetPosition().x;
    // moving forward is rewarded (about 300 over the course), a tilted hull a little penalized
    const double shaping = 130 * x / kScale - 5.0 * std::abs(state[0]);
    double reward = prev_shaping_ ? shaping - *prev_shaping_ : 0.0;
    prev_shaping_ = shaping;
    reward -= torque_cost;
    bool terminated = false;
    if (contacts_.game_over || x < 0) {
      reward = -100;
      terminated = true;
    }
    if (x > (kTerrainLength - kTerrainGrass) * kTerrainStep) terminated = true;
    return {reward, terminated, false};
  }

  std::array<double, 24> Observation(float* obs) {
    const b2Vec2 pos = hull_->GetPosition(), vel = hull_->GetLinearVelocity();
    std::array<double, 24> s = {hull_->GetAngle(),
                                2.0 * hull_->GetAngularVelocity() / kFps,
                                0.3 * vel.x * (kViewportW / kScale) / kFps,
                                0.3 * vel.y * (kViewportH / kScale) / kFps,
                                joints_[0]->GetJointAngle(),
                                joints_[0]->GetJointSpeed() / kSpeedHip,
                                joints_[1]->GetJointAngle() + 1.0,
                                joints_[1]->GetJointSpeed() / kSpeedKnee,
                                contacts_.on_ground[0] ? 1.0 : 0.0,
                                joints_[2]->GetJointAngle(),
                                joints_[2]->GetJointSpeed() / kSpeedHip,
                                joints_[3]->GetJointAngle() + 1.0,
                                joints_[3]->GetJointSpeed() / kSpeedKnee,
                                contacts_.on_ground[1] ? 1.0 : 0.0};
    for (int i = 0; i < 10; ++i) {
      ray_fraction_ = 1.0f;
      const b2Vec2 to(float(pos.x + std::sin(1.5 * i / 10.0) * kLidarRange),
                      float(pos.y - std::cos(1.5 * i / 10.0) * kLidarRange));
      world_->RayCast(this, pos, to);
      s[14 + i] = ray_fraction_;
    }
    for (size_t i = 0; i < s.size(); ++i) obs[i] = static_cast<float>(s[i]);
    observed_ = s;
    return s;
  }

 public:
  std::vector<env::Signal> Signals() const override {
    using S = env::Signal;
    std::vector<S> out = {{"hull/angle", "rad"},
                          {"hull/angular_velocity", "rad/s"},
                          {"velocity/vx", "m/s"},
                          {"velocity/vy", "m/s"},
                          {"position/x", "m"}};
    for (const char* leg :
         {"a", "b"}) {  // Gymnasium's joint limits: hip -0.8..1.1, knee -1.6..-0.1
      out.push_back({std::string("joint_angle/hip_") + leg, "rad", -0.8, 1.1});
      out.push_back({std::string("joint_angle/knee_") + leg, "rad", -1.6, -0.1});
      out.push_back({std::string("joint_speed/hip_") + leg, "rad/s"});
      out.push_back({std::string("joint_speed/knee_") + leg, "rad/s"});
      out.push_back({std::string("contact/leg_") + leg, "", NAN, NAN, S::Style::kSteps});
    }
    for (int i = 0; i < 10; ++i)
      out.push_back({"lidar/" + std::to_string(i), "fraction", 0.0, 1.0, S::Style::kHeatmap});
    return out;
  }

  // from the last observation, its scalings undone
  void SignalValues(double* out) const override {
    const std::array<double, 24>& s = observed_;
    const double vx_scale = 0.3 * (kViewportW / kScale) / kFps,
                 vy_scale = 0.3 * (kViewportH / kScale) / kFps;
    double* o = out;
    *o++ = s[0], *o++ = s[1] * kFps / 2.0, *o++ = s[2] / vx_scale, *o++ = s[3] / vy_scale;
    *o++ = hull_ != nullptr ? hull_->GetPosition().x : 0.0;
    for (const int k : {4, 9}) {  // leg A's entries start at 4, leg B's at 9
      *o++ = s[k], *o++ = s[k + 2] - 1.0, *o++ = s[k + 1] * kSpeedHip, *o++ = s[k + 3] * kSpeedKnee;
      *o++ = s[k + 4];
    }
    for (int i = 0; i < 10; ++i) *o++ = s[14 + i];
  }

 private:
  bool hardcore_;
  std::array<double, 24> observed_{};  // the last observation, unscaled to float   (24)
  Space obs_space_, act_space_;
  std::unique_ptr<b2World> world_;
  b2Body* hull_ = nullptr;
  std::array<b2Body*, 4> legs_{};             // left upper, left lower, right upper, right lower
  std::array<b2RevoluteJoint*, 4> joints_{};  // hips and knees, in the same order
  GroundContacts contacts_;                   // hull and feet touching the ground
  std::optional<double> prev_shaping_;
  RngWordArray episode_rng_{};                                 // np_random at the episode's start
  std::vector<double> terrain_x_, terrain_y_;                  // the ground line   (kTerrainLength)
  std::vector<std::vector<std::array<double, 2>>> obstacles_;  // stumps, stairs, pit walls
  std::vector<std::vector<Point>> clouds_;
  float ray_fraction_ = 1.0f;  // the lidar ray being cast
};

env::Image BipedalWalker::Render() const {
  const double scroll = hull_->GetPosition().x - kViewportW / kScale / 5;
  const double left = scroll * kScale;  // world pixels at the image's left edge
  Canvas canvas(int(kViewportW), int(kViewportH), {215, 215, 255});
  for (const auto& cloud : clouds_) {  // parallax: clouds move at half the speed
    std::vector<Point> p;
    for (const auto& [x, y] : cloud) p.emplace_back(x * kScale + left / 2 - left, y * kScale);
    canvas.Polygon(p, {255, 255, 255});
  }
  for (size_t i = 0; i + 1 < terrain_x_.size(); ++i) {
    if (terrain_x_[i + 1] < scroll || terrain_x_[i] > scroll + kViewportW / kScale) continue;
    const double x0 = terrain_x_[i] * kScale - left, x1 = terrain_x_[i + 1] * kScale - left;
    const double y0 = terrain_y_[i] * kScale, y1 = terrain_y_[i + 1] * kScale;
    canvas.Polygon({{x0, y0}, {x1, y1}, {x1, 0}, {x0, 0}}, {102, 153, 76});
    canvas.Line({x0, y0}, {x1, y1}, {76, uint8_t(i % 2 == 0 ? 255 : 204), 76});
  }
  for (const auto& poly : obstacles_) {
    std::vector<Point> p;
    for (const auto& v : poly) p.emplace_back(v[0] * kScale - left, v[1] * kScale);
    canvas.Polygon(p, {255, 255, 255});
    p.push_back(p.front());
    canvas.Polyline(p, {153, 153, 153});
  }
  const auto draw = [&](const b2Body* body, Color fill, Color edge) {
    const auto* shape = static_cast<const b2PolygonShape*>(body->GetFixtureList()->GetShape());
    std::vector<Point> p;
    for (int v = 0; v < shape->m_count; ++v) {
      const b2Vec2 w = body->GetWorldPoint(shape->m_vertices[v]);
      p.emplace_back(w.x * kScale - left, w.y * kScale);
    }
    canvas.Polygon(p, fill);
    p.push_back(p.front());
    canvas.Polyline(p, edge);
  };
  for (int k = 0; k < 4; ++k) {
    const int i = k < 2 ? -1 : 1;  // Gymnasium shades the two legs differently
    draw(legs_[k], {uint8_t(153 - i * 25), uint8_t(76 - i * 25), uint8_t(127 - i * 25)},
         {uint8_t(102 - i * 25), uint8_t(51 - i * 25), uint8_t(76 - i * 25)});
  }
  draw(hull_, {127, 51, 229}, {76, 76, 127});
  const double flag_x = kTerrainStep * 3 * kScale - left;
  const double y1 = kTerrainHeight * kScale, y2 = y1 + 50;
  canvas.Line({flag_x, y1}, {flag_x, y2}, {0, 0, 0});
  canvas.Polygon({{flag_x, y2}, {flag_x, y2 - 10}, {flag_x + 25, y2 - 5}}, {230, 51, 0});
  return canvas.ToImage();
}

}  // namespace

std::unique_ptr<env::Env> MakeBipedalWalker(const env::KwargReader& k) {
  return std::make_unique<BipedalWalker>(k.Bool("hardcore"));
}

}  // namespace rlforge::envs::box2d
