// CartPole-v1 (Barto, Sutton & Anderson 1983), as gymnasium/envs/classic_control/cartpole.py.
#include <array>
#include <cmath>

#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs {
namespace {

constexpr double kGravity = 9.8;
constexpr double kMassCart = 1.0;
constexpr double kMassPole = 0.1;
constexpr double kTotalMass = kMassPole + kMassCart;
constexpr double kLength = 0.5;  // half the pole's length
constexpr double kPoleMassLength = kMassPole * kLength;
constexpr double kForceMag = 10.0;
constexpr double kTau = 0.02;  // seconds per step
const double kThetaThreshold = 12 * 2 * M_PI / 360;
constexpr double kXThreshold = 2.4;

// Largest float32, the velocity bounds of the observation space.
constexpr double kFloat32Max = 3.4028234663852886e38;

class CartPole final : public ClassicEnv<4> {
 public:
  explicit CartPole(bool sutton_barto_reward)
      : ClassicEnv(
            Space::Box({-kXThreshold * 2, -kFloat32Max, -kThetaThreshold * 2, -kFloat32Max},
                       {kXThreshold * 2, kFloat32Max, kThetaThreshold * 2, kFloat32Max}, {4}),
            Space::Discrete(2)),
        sutton_barto_reward_(sutton_barto_reward) {}

  env::Image Render() const override;

 protected:
  void ResetState() override {
    for (double& s : state_) s = np_random_.Uniform(-0.05, 0.05);
    steps_beyond_terminated_ = -1;
  }
  void ClearEpisodeBookkeeping() override { steps_beyond_terminated_ = -1; }
  std::vector<double> Bookkeeping() const override {
    return {static_cast<double>(steps_beyond_terminated_)};
  }
  void SetBookkeeping(const std::vector<double>& b) override {
    if (b.size() == 1) steps_beyond_terminated_ = static_cast<int>(b[0]);
  }

  env::StepResult Advance(const Action& action) override {
    auto& [x, x_dot, theta, theta_dot] = state_;
    const double force = action.discrete[0] == 1 ? kForceMag : -kForceMag;
    const double costheta = std::cos(theta);
    const double sintheta = std::sin(theta);

    // equations of motion (Florian 2007), Euler integration
    const double temp = (force + kPoleMassLength * PyPow(theta_dot, 2) * sintheta) / kTotalMass;
    const double thetaacc = (kGravity * sintheta - costheta * temp) /
                            (kLength * (4.0 / 3.0 - kMassPole * PyPow(costheta, 2) / kTotalMass));
    const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
    x = x + kTau * x_dot;
    x_dot = x_dot + kTau * xacc;
    theta = theta + kTau * theta_dot;
    theta_dot = theta_dot + kTau * thetaacc;

    const bool terminated =
        x < -kXThreshold || x > kXThreshold || theta < -kThetaThreshold || theta > kThetaThreshold;
    double reward;
    if (!terminated) {
      reward = sutton_barto_reward_ ? 0.0 : 1.0;
    } else if (steps_beyond_terminated_ < 0) {
      steps_beyond_terminated_ = 0;  // the pole just fell
      reward = sutton_barto_reward_ ? -1.0 : 1.0;
    } else {
      ++steps_beyond_terminated_;  // stepping past the end: undefined in Gymnasium, reward 0
      reward = sutton_barto_reward_ ? -1.0 : 0.0;
    }
    return {reward, terminated, false};
  }

  void ObserveInto(float* obs) const override {
    for (int i = 0; i < 4; ++i) obs[i] = static_cast<float>(state_[i]);
  }

 private:
  bool sutton_barto_reward_;          // state_ = [x, x_dot, theta, theta_dot]
  int steps_beyond_terminated_ = -1;  // -1: not terminated yet
};

env::Image CartPole::Render() const {
  constexpr int kWidth = 600, kHeight = 400;
  const double scale = kWidth / (kXThreshold * 2);
  const double pole_width = 10.0, pole_len = scale * (2 * kLength);
  const double cart_width = 50.0, cart_height = 30.0;
  const double axle_offset = cart_height / 4.0;
  const double cart_x = state_[0] * scale + kWidth / 2.0;
  const double cart_y = 100;  // top of cart

  Canvas canvas(kWidth, kHeight);
  const double l = -cart_width / 2, r = cart_width / 2, t = cart_height / 2, b = -cart_height / 2;
  canvas.Polygon({{l + cart_x, b + cart_y},
                  {l + cart_x, t + cart_y},
                  {r + cart_x, t + cart_y},
                  {r + cart_x, b + cart_y}},
                 {0, 0, 0});
  std::vector<Point> pole;
  for (Point corner : std::vector<Point>{{-pole_width / 2, -pole_width / 2},
                                         {-pole_width / 2, pole_len - pole_width / 2},
                                         {pole_width / 2, pole_len - pole_width / 2},
                                         {pole_width / 2, -pole_width / 2}}) {
    const Point p = Rotate(corner, -state_[2]);
    pole.emplace_back(p.first + cart_x, p.second + cart_y + axle_offset);
  }
  canvas.Polygon(pole, {202, 152, 101});
  canvas.Circle(cart_x, cart_y + axle_offset, pole_width / 2, {129, 132, 203});
  canvas.Line({0, cart_y}, {kWidth, cart_y}, {0, 0, 0});
  return canvas.ToImage();
}

}  // namespace

std::unique_ptr<env::Env> MakeCartPole(const env::KwargReader& kwargs) {
  return std::make_unique<CartPole>(kwargs.Bool("sutton_barto_reward"));
}

}  // namespace rlforge::envs
