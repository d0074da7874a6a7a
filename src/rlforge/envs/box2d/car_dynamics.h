// CarRacing's top-down car, as gymnasium/envs/box2d/car_dynamics.py: a rear-wheel-drive hull on
// four wheels whose spin (omega) is integrated by hand and turned into tyre forces capped by a
// friction limit (road or grass). Skid-mark particles, decoration in Gymnasium, are left out.
#pragma once

#include <box2d/box2d.h>

#include <array>

namespace rlforge::envs::box2d {

inline constexpr double kCarSize = 0.02;  // model units to metres
inline constexpr double kWheelR = 27, kWheelW = 14;

struct Wheel {
  b2Body* body = nullptr;
  b2RevoluteJoint* joint = nullptr;  // to the hull; its motor turns the wheel toward `steer`
  double gas = 0;                    // throttle, ramped up by at most 0.1 a step
  double brake = 0;                  // >= 0.9 locks the wheel
  double steer = 0;                  // target steering angle, -1..1
  double phase = 0;                  // rotation angle, for drawing
  double omega = 0;                  // angular velocity
  bool on_road = false;              // touching at least one road tile
};

class Car {
 public:
  // Hull at (x, y) facing `angle`; wheels at their offsets (unrotated, as Gymnasium places them:
  // the joints pull them into place in the first steps).
  Car(b2World& world, double angle, double x, double y);

  void Gas(double gas);      // rear wheels; clipped to [0, 1]
  void Brake(double brake);  // all wheels
  void Steer(double steer);  // front wheels
  void Step(double dt);      // steering motors, wheel spin and tyre forces; before world.Step

  b2Body* hull() const { return hull_; }
  std::array<Wheel, 4>& wheels() { return wheels_; }
  const std::array<Wheel, 4>& wheels() const { return wheels_; }

 private:
  void StepWheel(Wheel& w, double dt) const;

  b2Body* hull_;
  std::array<Wheel, 4> wheels_;  // front left, front right, rear left, rear right
};

}  // namespace rlforge::envs::box2d
