#include "rlforge/envs/box2d/car_dynamics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rlforge::envs::box2d {
namespace {

constexpr double kEnginePower = 100000000 * kCarSize * kCarSize;
constexpr double kWheelMomentOfInertia = 4000 * kCarSize * kCarSize;
constexpr double kFrictionLimit = 1000000 * kCarSize * kCarSize;  // ~ mass ~ size^2
constexpr double kGrassFriction = 0.6;                            // of the road's limit
constexpr double kForceGain = 205000 * kCarSize * kCarSize;       // damps the force oscillation
constexpr double kBrakeForce = 15;                                // radians per second
constexpr double kWheelRadius = 1.0 * kWheelR * kCarSize;
constexpr std::array<std::array<double, 2>, 4> kWheelPos = {
    {{-55, +80}, {+55, +80}, {-55, -82}, {+55, -82}}};
const std::vector<std::vector<std::array<double, 2>>> kHullPolys = {
    {{-60, +130}, {+60, +130}, {+60, +110}, {-60, +110}},
    {{-15, +120}, {+15, +120}, {+20, +20}, {-20, 20}},
    {{+25, +20},
     {+50, -10},
     {+50, -40},
     {+20, -90},
     {-20, -90},
     {-50, -40},
     {-50, -10},
     {-25, +20}},
    {{-50, -120}, {+50, -120}, {+50, -90}, {-50, -90}}};

double Sign(double x) { return static_cast<double>((x > 0) - (x < 0)); }

b2PolygonShape Scaled(const std::vector<std::array<double, 2>>& poly) {
  std::vector<b2Vec2> v;
  for (const auto& [x, y] : poly) v.emplace_back(float(x * kCarSize), float(y * kCarSize));
  b2PolygonShape shape;
  shape.Set(v.data(), static_cast<int32>(v.size()));
  return shape;
}

}  // namespace

Car::Car(b2World& world, double angle, double x, double y) {
  b2BodyDef def;
  def.type = b2_dynamicBody;
  def.position.Set(float(x), float(y));
  def.angle = float(angle);
  hull_ = world.CreateBody(&def);
  for (const auto& poly : kHullPolys) {
    const b2PolygonShape shape = Scaled(poly);
    hull_->CreateFixture(&shape, 1.0f);
  }
  const b2PolygonShape tyre = Scaled(
      {{-kWheelW, +kWheelR}, {+kWheelW, +kWheelR}, {+kWheelW, -kWheelR}, {-kWheelW, -kWheelR}});
  for (size_t k = 0; k < wheels_.size(); ++k) {
    const auto [wx, wy] = kWheelPos[k];
    def.position.Set(float(x + wx * kCarSize), float(y + wy * kCarSize));
    Wheel& w = wheels_[k];
    w.body = world.CreateBody(&def);
    b2FixtureDef f;
    f.shape = &tyre;
    f.density = 0.1f;
    f.restitution = 0.0f;
    f.filter.categoryBits = 0x0020;
    f.filter.maskBits = 0x001;
    w.body->CreateFixture(&f);
    b2RevoluteJointDef rjd;
    rjd.bodyA = hull_;
    rjd.bodyB = w.body;
    rjd.localAnchorA.Set(float(wx * kCarSize), float(wy * kCarSize));
    rjd.localAnchorB.Set(0, 0);
    rjd.enableMotor = true;
    rjd.enableLimit = true;
    rjd.maxMotorTorque = float(180 * 900 * kCarSize * kCarSize);
    rjd.motorSpeed = 0;
    rjd.lowerAngle = -0.4f;
    rjd.upperAngle = +0.4f;
    w.joint = static_cast<b2RevoluteJoint*>(world.CreateJoint(&rjd));
  }
}

void Car::Gas(double gas) {
  gas = std::clamp(gas, 0.0, 1.0);
  for (size_t k = 2; k < 4; ++k)                            // rear-wheel drive
    wheels_[k].gas += std::min(gas - wheels_[k].gas, 0.1);  // ramps up, lets go at once
}

void Car::Brake(double brake) {
  for (Wheel& w : wheels_) w.brake = brake;
}

void Car::Steer(double steer) { wheels_[0].steer = wheels_[1].steer = steer; }

void Car::Step(double dt) {
  for (Wheel& w : wheels_) StepWheel(w, dt);
}

void Car::StepWheel(Wheel& w, double dt) const {
  const double err = w.steer - w.joint->GetJointAngle();  // steering motor toward the target
  w.joint->SetMotorSpeed(float(Sign(err) * std::min(50.0 * std::abs(err), 3.0)));
  const double friction_limit = kFrictionLimit * (w.on_road ? 1.0 : kGrassFriction);

  const b2Vec2 forw = w.body->GetWorldVector(b2Vec2(0, 1));
  const b2Vec2 side = w.body->GetWorldVector(b2Vec2(1, 0));
  const b2Vec2 v = w.body->GetLinearVelocity();
  const double vf = double(forw.x) * v.x + double(forw.y) * v.y;  // forward speed
  const double vs = double(side.x) * v.x + double(side.y) * v.y;  // sideways speed

  // engine power W = I omega domega/dt (5 keeps it finite at rest)
  w.omega += dt * kEnginePower * w.gas / kWheelMomentOfInertia / (std::abs(w.omega) + 5.0);
  if (w.brake >= 0.9) {
    w.omega = 0;
  } else if (w.brake > 0) {
    const double cut = std::min(kBrakeForce * w.brake, std::abs(w.omega));
    w.omega -= Sign(w.omega) * cut;
  }
  w.phase += w.omega * dt;

  // tyre force against the slip between the wheel's rim speed and the ground, capped by friction
  const double rim = w.omega * kWheelRadius;
  double f_force = (rim - vf) * kForceGain, p_force = -vs * kForceGain;
  const double force = std::sqrt(f_force * f_force + p_force * p_force);
  if (force > friction_limit) {
    f_force = f_force / force * friction_limit;
    p_force = p_force / force * friction_limit;
  }
  w.omega -= dt * f_force * kWheelRadius / kWheelMomentOfInertia;
  w.body->ApplyForceToCenter(b2Vec2(float(p_force * side.x + f_force * forw.x),
                                    float(p_force * side.y + f_force * forw.y)),
                             true);
}

}  // namespace rlforge::envs::box2d
