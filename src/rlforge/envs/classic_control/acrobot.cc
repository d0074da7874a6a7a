// Acrobot-v1 (Sutton 1996, "book" dynamics), as gymnasium/envs/classic_control/acrobot.py:
// one RK4 step of dt = 0.2 per action, angles wrapped to [-pi, pi], velocities bounded.
#include <array>
#include <cmath>

#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs {
namespace {

constexpr double kDt = 0.2;
constexpr double kLinkLength1 = 1.0;
constexpr double kLinkLength2 = 1.0;
constexpr double kLinkMass1 = 1.0;
constexpr double kLinkMass2 = 1.0;
constexpr double kLinkComPos1 = 0.5;
constexpr double kLinkComPos2 = 0.5;
constexpr double kLinkMoi = 1.0;
constexpr double kMaxVel1 = 4 * M_PI;
constexpr double kMaxVel2 = 9 * M_PI;
constexpr double kAvailTorque[3] = {-1.0, 0.0, +1.0};
constexpr double kG = 9.8;

using State5 = std::array<double, 5>;  // [theta1, theta2, dtheta1, dtheta2, torque]

// Equations of motion: d/dt of the augmented state.
State5 Dsdt(const State5& s) {
  const double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  const double lc1 = kLinkComPos1, lc2 = kLinkComPos2, i1 = kLinkMoi, i2 = kLinkMoi;
  const double a = s[4];
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  const double d1 =
      m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * std::cos(theta2)) + i1 + i2;
  const double d2 = m2 * ((lc2 * lc2) + l1 * lc2 * std::cos(theta2)) + i2;
  const double phi2 = m2 * lc2 * kG * std::cos(theta1 + theta2 - M_PI / 2.0);
  const double phi1 = -m2 * l1 * lc2 * PyPow(dtheta2, 2) * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * kG * std::cos(theta1 - M_PI / 2) + phi2;
  const double ddtheta2 =
      (a + d2 / d1 * phi1 - m2 * l1 * lc2 * PyPow(dtheta1, 2) * std::sin(theta2) - phi2) /
      (m2 * (lc2 * lc2) + i2 - PyPow(d2, 2) / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0};
}

// y + h * k, elementwise.
State5 Axpy(const State5& y, double h, const State5& k) {
  State5 out;
  for (size_t i = 0; i < 5; ++i) out[i] = y[i] + h * k[i];
  return out;
}

// One classical Runge-Kutta step over [0, dt] (Gymnasium's rk4 with t = [0, dt]).
State5 Rk4(const State5& y0) {
  const double dt = kDt - 0.0, dt2 = dt / 2.0;
  const State5 k1 = Dsdt(y0);
  const State5 k2 = Dsdt(Axpy(y0, dt2, k1));
  const State5 k3 = Dsdt(Axpy(y0, dt2, k2));
  const State5 k4 = Dsdt(Axpy(y0, dt, k3));
  State5 y1;
  for (size_t i = 0; i < 5; ++i) y1[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  return y1;
}

double Wrap(double x, double m, double M) {
  const double diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}

double Bound(double x, double m, double M) { return std::min(std::max(x, m), M); }

class Acrobot final : public ClassicEnv<4> {  // state_ = [theta1, theta2, dtheta1, dtheta2]
 public:
  Acrobot()
      : ClassicEnv(Space::Box({-1.0, -1.0, -1.0, -1.0, -kMaxVel1, -kMaxVel2},
                              {1.0, 1.0, 1.0, 1.0, kMaxVel1, kMaxVel2}, {6}),
                   Space::Discrete(3)) {}

  env::Image Render() const override;

 protected:
  void ResetState() override {
    for (double& s : state_)
      s = static_cast<float>(np_random_.Uniform(-0.1, 0.1));  // .astype(float32)
  }

  env::StepResult Advance(const Action& action) override {
    const double torque = kAvailTorque[action.discrete[0]];
    const State5 ns = Rk4({state_[0], state_[1], state_[2], state_[3], torque});
    state_ = {Wrap(ns[0], -M_PI, M_PI), Wrap(ns[1], -M_PI, M_PI), Bound(ns[2], -kMaxVel1, kMaxVel1),
              Bound(ns[3], -kMaxVel2, kMaxVel2)};
    const bool terminated = -std::cos(state_[0]) - std::cos(state_[1] + state_[0]) > 1.0;
    return {terminated ? 0.0 : -1.0, terminated, false};
  }

  void ObserveInto(float* obs) const override {
    obs[0] = static_cast<float>(std::cos(state_[0]));
    obs[1] = static_cast<float>(std::sin(state_[0]));
    obs[2] = static_cast<float>(std::cos(state_[1]));
    obs[3] = static_cast<float>(std::sin(state_[1]));
    obs[4] = static_cast<float>(state_[2]);
    obs[5] = static_cast<float>(state_[3]);
  }
};

env::Image Acrobot::Render() const {
  constexpr int kSize = 500;
  const double bound = kLinkLength1 + kLinkLength2 + 0.2;
  const double scale = kSize / (bound * 2);
  const double offset = kSize / 2.0;
  const double s0 = state_[0], s1 = state_[1];

  Canvas canvas(kSize, kSize);
  const Point p1 = {-kLinkLength1 * std::cos(s0) * scale, kLinkLength1 * std::sin(s0) * scale};
  // Gymnasium swaps the coordinates: xys = [[0, 0], p1, p2][:, ::-1]
  const std::array<Point, 2> joints = {Point{0, 0}, Point{p1.second, p1.first}};
  const std::array<double, 2> thetas = {s0 - M_PI / 2, s0 + s1 - M_PI / 2};
  const std::array<double, 2> lengths = {kLinkLength1 * scale, kLinkLength2 * scale};

  canvas.Line({-2.2 * scale + offset, 1 * scale + offset},
              {2.2 * scale + offset, 1 * scale + offset}, {0, 0, 0});
  for (size_t i = 0; i < 2; ++i) {
    const double x = joints[i].first + offset, y = joints[i].second + offset;
    std::vector<Point> link;
    for (Point corner : std::vector<Point>{{0, -.1 * scale},
                                           {0, .1 * scale},
                                           {lengths[i], .1 * scale},
                                           {lengths[i], -.1 * scale}}) {
      const Point p = Rotate(corner, thetas[i]);
      link.emplace_back(p.first + x, p.second + y);
    }
    canvas.Polygon(link, {0, 204, 204});
    canvas.Circle(x, y, .1 * scale, {204, 204, 0});
  }
  return canvas.ToImage();
}

}  // namespace

std::unique_ptr<env::Env> MakeAcrobot(const env::KwargReader&) {
  return std::make_unique<Acrobot>();
}

}  // namespace rlforge::envs
