// MountainCar-v0 and MountainCarContinuous-v0 (Moore 1990), as Gymnasium's mountain_car.py and
// continuous_mountain_car.py. The continuous version stores its state as float32 after each step.
#include <array>
#include <cmath>

#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs {
namespace {

constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;
constexpr double kMaxSpeed = 0.07;
constexpr double kForce = 0.001;  // discrete: acceleration per unit of (action - 1)
constexpr double kGravity = 0.0025;
constexpr double kPower = 0.0015;  // continuous: acceleration per unit of force
constexpr double kGoalDiscrete = 0.5;
constexpr double kGoalContinuous = 0.45;

double Height(double x) { return std::sin(3 * x) * .45 + .55; }

// Shared by both versions: spaces, state, reset, rendering.
class MountainCarBase : public ClassicEnv<2> {
 public:
  MountainCarBase(double goal_position, double goal_velocity, Space action_space)
      : ClassicEnv(Space::Box({kMinPosition, -kMaxSpeed}, {kMaxPosition, kMaxSpeed}, {2}),
                   std::move(action_space)),
        goal_position_(goal_position),
        goal_velocity_(goal_velocity) {}

  env::Image Render() const override;

 protected:
  void ResetState() override { state_ = {np_random_.Uniform(-0.6, -0.4), 0.0}; }

  void ObserveInto(float* obs) const override {
    obs[0] = static_cast<float>(state_[0]);
    obs[1] = static_cast<float>(state_[1]);
  }

  double goal_position_, goal_velocity_;  // state_ = [position, velocity]
};

env::Image MountainCarBase::Render() const {
  constexpr int kWidth = 600, kHeight = 400;
  const double scale = kWidth / (kMaxPosition - kMinPosition);
  const double car_width = 40, car_height = 20, clearance = 10;
  const double pos = state_[0];

  Canvas canvas(kWidth, kHeight);
  std::vector<Point> track;
  for (int i = 0; i < 100; ++i) {
    const double x = kMinPosition + (kMaxPosition - kMinPosition) * i / 99;
    track.emplace_back((x - kMinPosition) * scale, Height(x) * scale);
  }
  canvas.Polyline(track, {0, 0, 0});

  const double tilt = std::cos(3 * pos);
  const double base_x = (pos - kMinPosition) * scale, base_y = clearance + Height(pos) * scale;
  std::vector<Point> car;
  for (Point corner : std::vector<Point>{{-car_width / 2, 0},
                                         {-car_width / 2, car_height},
                                         {car_width / 2, car_height},
                                         {car_width / 2, 0}}) {
    const Point p = Rotate(corner, tilt);
    car.emplace_back(p.first + base_x, p.second + base_y);
  }
  canvas.Polygon(car, {0, 0, 0});
  for (Point wheel : std::vector<Point>{{car_width / 4, 0}, {-car_width / 4, 0}}) {
    const Point p = Rotate(wheel, tilt);
    canvas.Circle(p.first + base_x, p.second + base_y, car_height / 2.5, {128, 128, 128});
  }

  const double flag_x = (goal_position_ - kMinPosition) * scale;
  const double flag_y1 = Height(goal_position_) * scale, flag_y2 = flag_y1 + 50;
  canvas.Line({flag_x, flag_y1}, {flag_x, flag_y2}, {0, 0, 0});
  canvas.Polygon({{flag_x, flag_y2}, {flag_x, flag_y2 - 10}, {flag_x + 25, flag_y2 - 5}},
                 {204, 204, 0});
  return canvas.ToImage();
}

class MountainCar final : public MountainCarBase {
 public:
  explicit MountainCar(double goal_velocity)
      : MountainCarBase(kGoalDiscrete, goal_velocity, Space::Discrete(3)) {}

 protected:
  env::StepResult Advance(const Action& action) override {
    double position = state_[0], velocity = state_[1];
    velocity +=
        static_cast<double>(action.discrete[0] - 1) * kForce + std::cos(3 * position) * (-kGravity);
    velocity = std::clamp(velocity, -kMaxSpeed, kMaxSpeed);
    position += velocity;
    position = std::clamp(position, kMinPosition, kMaxPosition);
    if (position == kMinPosition && velocity < 0) velocity = 0;
    const bool terminated = position >= goal_position_ && velocity >= goal_velocity_;
    state_ = {position, velocity};
    return {-1.0, terminated, false};
  }
};

class MountainCarContinuous final : public MountainCarBase {
 public:
  explicit MountainCarContinuous(double goal_velocity)
      : MountainCarBase(kGoalContinuous, goal_velocity, Space::Box(-1.0, 1.0, {1})) {}

 protected:
  env::StepResult Advance(const Action& action) override {
    double position = state_[0], velocity = state_[1];
    const double a = action.continuous[0];
    const double force = std::min(std::max(a, -1.0), 1.0);
    velocity += force * kPower - 0.0025 * std::cos(3 * position);
    if (velocity > kMaxSpeed) velocity = kMaxSpeed;
    if (velocity < -kMaxSpeed) velocity = -kMaxSpeed;
    position += velocity;
    if (position > kMaxPosition) position = kMaxPosition;
    if (position < kMinPosition) position = kMinPosition;
    if (position == kMinPosition && velocity < 0) velocity = 0;
    const bool terminated = position >= goal_position_ && velocity >= goal_velocity_;
    double reward = terminated ? 100.0 : 0.0;
    reward -= std::pow(a, 2) * 0.1;                                         // the unclipped action
    state_ = {static_cast<float>(position), static_cast<float>(velocity)};  // np.float32 state
    return {reward, terminated, false};
  }
};

}  // namespace

std::unique_ptr<env::Env> MakeMountainCar(const env::KwargReader& kwargs) {
  return std::make_unique<MountainCar>(kwargs.Double("goal_velocity"));
}

std::unique_ptr<env::Env> MakeMountainCarContinuous(const env::KwargReader& kwargs) {
  return std::make_unique<MountainCarContinuous>(kwargs.Double("goal_velocity"));
}

}  // namespace rlforge::envs
