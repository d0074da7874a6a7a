// Pendulum-v1, as gymnasium/envs/classic_control/pendulum.py (NumPy 1.x promotion: the float32
// action is widened to float64 before any arithmetic).
#include <array>
#include <cmath>
#include <optional>

#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs {
namespace {

constexpr double kMaxSpeed = 8.0;
constexpr double kMaxTorque = 2.0;
constexpr double kDt = 0.05;
constexpr double kMass = 1.0;
constexpr double kLength = 1.0;

// NumPy/Python floored modulo: the result takes the sign of the divisor.
double FlooredMod(double a, double b) {
  double mod = std::fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return mod;
}

double AngleNormalize(double x) { return FlooredMod(x + M_PI, 2 * M_PI) - M_PI; }

class Pendulum final : public ClassicEnv<2> {
 public:
  explicit Pendulum(double g)
      : ClassicEnv(Space::Box({-1.0, -1.0, -kMaxSpeed}, {1.0, 1.0, kMaxSpeed}, {3}),
                   Space::Box(-kMaxTorque, kMaxTorque, {1})),
        g_(g) {}

  env::Image Render() const override;

 protected:
  void ResetState() override {
    state_[0] = np_random_.Uniform(-M_PI, M_PI);
    state_[1] = np_random_.Uniform(-1.0, 1.0);
    last_u_.reset();
  }
  void ClearEpisodeBookkeeping() override { last_u_.reset(); }
  std::vector<double> Bookkeeping() const override {
    return last_u_ ? std::vector<double>{*last_u_} : std::vector<double>{};
  }
  void SetBookkeeping(const std::vector<double>& b) override {
    if (b.size() == 1) last_u_ = b[0];
  }

  env::StepResult Advance(const Action& action) override {
    const double th = state_[0], thdot = state_[1];
    const float u32 = std::clamp(action.continuous[0], static_cast<float>(-kMaxTorque),
                                 static_cast<float>(kMaxTorque));
    const double u = u32;
    last_u_ = u;

    const double an = AngleNormalize(th);
    const double costs = PyPow(an, 2) + 0.1 * PyPow(thdot, 2) + 0.001 * PyPow(u, 2);

    double newthdot =
        thdot +
        (3 * g_ / (2 * kLength) * std::sin(th) + 3.0 / (kMass * (kLength * kLength)) * u) * kDt;
    newthdot = std::clamp(newthdot, -kMaxSpeed, kMaxSpeed);
    const double newth = th + newthdot * kDt;
    state_ = {newth, newthdot};
    return {-costs, false, false};
  }

  void ObserveInto(float* obs) const override {
    obs[0] = static_cast<float>(std::cos(state_[0]));
    obs[1] = static_cast<float>(std::sin(state_[0]));
    obs[2] = static_cast<float>(state_[1]);
  }

 private:
  double g_;                      // state_ = [theta, theta_dot]
  std::optional<double> last_u_;  // torque of the last step, drawn as an arrow
};

env::Image Pendulum::Render() const {
  constexpr int kSize = 500;
  const double bound = 2.2;
  const double scale = kSize / (bound * 2);
  const double offset = kSize / 2.0;
  const double rod_length = 1 * scale, rod_width = 0.2 * scale;
  const Color rod_color{204, 77, 77};
  const double angle = state_[0] + M_PI / 2;

  Canvas canvas(kSize, kSize);
  std::vector<Point> rod;
  for (Point corner : std::vector<Point>{{0, -rod_width / 2},
                                         {0, rod_width / 2},
                                         {rod_length, rod_width / 2},
                                         {rod_length, -rod_width / 2}}) {
    const Point p = Rotate(corner, angle);
    rod.emplace_back(p.first + offset, p.second + offset);
  }
  canvas.Polygon(rod, rod_color);
  canvas.Circle(offset, offset, rod_width / 2, rod_color);
  const Point end = Rotate({rod_length, 0}, angle);
  canvas.Circle(end.first + offset, end.second + offset, rod_width / 2, rod_color);
  if (last_u_ && *last_u_ != 0.0) {
    // torque arrow: an arc around the axle whose length follows |u|, arrowhead at its end
    const double radius = 0.35 * scale;
    const double sweep = std::abs(*last_u_) / kMaxTorque * 1.5 * M_PI;
    const double start = M_PI / 2, stop = *last_u_ > 0 ? start + sweep : start - sweep;
    std::vector<Point> arc;
    for (int i = 0; i <= 32; ++i) {
      const double a = start + (stop - start) * i / 32;
      arc.emplace_back(offset + radius * std::cos(a), offset + radius * std::sin(a));
    }
    canvas.Polyline(arc, {0, 0, 0}, 4.0);
    const double dir = *last_u_ > 0 ? 1.0 : -1.0;
    const Point tip = arc.back();
    const Point tangent = {-std::sin(stop) * dir, std::cos(stop) * dir};
    const Point normal = {std::cos(stop), std::sin(stop)};
    const double h = 12.0;
    canvas.Polygon({{tip.first + tangent.first * h, tip.second + tangent.second * h},
                    {tip.first + normal.first * h * 0.6, tip.second + normal.second * h * 0.6},
                    {tip.first - normal.first * h * 0.6, tip.second - normal.second * h * 0.6}},
                   {0, 0, 0});
  }
  canvas.Circle(offset, offset, 0.05 * scale, {0, 0, 0});
  return canvas.ToImage();
}

}  // namespace

std::unique_ptr<env::Env> MakePendulum(const env::KwargReader& kwargs) {
  return std::make_unique<Pendulum>(kwargs.Double("g"));
}

}  // namespace rlforge::envs
