// Gymnasium's v4 balancing and reaching tasks: InvertedPendulum, InvertedDoublePendulum, Reacher,
// Pusher (gymnasium/envs/mujoco/*_v4.py).
#include <mujoco/mujoco.h>

#include <cmath>

#include "rlforge/envs/mujoco/mujoco_envs.h"

namespace rlforge::envs::mujoco {
namespace {

double Norm(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

class InvertedPendulum final : public MujocoEnv {
 public:
  explicit InvertedPendulum(const env::KwargReader& k)
      : MujocoEnv("inverted_pendulum.xml", 2, 4, Frames(k, {.distance = 2.04})) {}

 protected:
  void ObserveInto(float* obs) const override {  // [qpos, qvel]
    ObsWriter w{obs};
    w.Put(qpos());
    w.Put(qvel());
  }
  void ResetModel() override { ResetUniform(0.01, 0.01); }
  env::StepResult Advance(const Action& action) override {
    DoSimulation(action);
    // Gymnasium tests its float64 observation [qpos, qvel]: non-finite, or the pole past 0.2 rad
    const auto finite = [](double x) { return std::isfinite(x); };
    const bool fell = !std::ranges::all_of(qpos(), finite) ||
                      !std::ranges::all_of(qvel(), finite) || std::abs(qpos()[1]) > 0.2;
    return {1.0, fell, false};
  }
};

class InvertedDoublePendulum final : public MujocoEnv {
 public:
  explicit InvertedDoublePendulum(const env::KwargReader& k)
      : MujocoEnv("inverted_double_pendulum.xml", 5, 11,
                  Frames(k, {.distance = 4.1225, .lookat = {{0, 0, 0.1225}}})) {}

 protected:
  // [cart x, sin(hinges), cos(hinges), qvel clipped to +-10, qfrc_constraint clipped to +-10]
  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    w.Put(qpos()[0]);
    for (double a : qpos().subspan(1)) w.Put(std::sin(a));
    for (double a : qpos().subspan(1)) w.Put(std::cos(a));
    w.Put(qvel(), 10.0);
    w.Put({data_->qfrc_constraint, size_t(model_->nv)}, 10.0);
  }
  void ResetModel() override { ResetUniformNormal(0.1, 0.1); }
  env::StepResult Advance(const Action& action) override {
    DoSimulation(action);
    const double x = data_->site_xpos[0], y = data_->site_xpos[2];  // the pole tip
    const double dist_penalty = 0.01 * x * x + (y - 2) * (y - 2);
    const double v1 = qvel()[1], v2 = qvel()[2];
    const double vel_penalty = 1e-3 * v1 * v1 + 5e-3 * v2 * v2;
    const double alive_bonus = 10;
    return {alive_bonus - dist_penalty - vel_penalty, y <= 1, false};
  }
};

class Reacher final : public MujocoEnv {
 public:
  explicit Reacher(const env::KwargReader& k)
      : MujocoEnv("reacher.xml", 2, 11, Frames(k, {})),
        fingertip_(BodyId("fingertip")),
        target_(BodyId("target")) {}

 protected:
  // [cos(arm angles), sin(arm angles), target x/y, arm velocities, fingertip - target]
  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    for (double a : qpos().first(2)) w.Put(std::cos(a));
    for (double a : qpos().first(2)) w.Put(std::sin(a));
    w.Put(qpos().subspan(2));
    w.Put(qvel().first(2));
    const auto tip = BodyXpos(fingertip_), target = BodyXpos(target_);
    for (int i = 0; i < 3; ++i) w.Put(tip[i] - target[i]);
  }
  // arm angles +-0.1, a goal drawn uniformly in the disc of radius 0.2 (by rejection)
  void ResetModel() override {
    auto qpos = UniformAround(init_qpos_, -0.1, 0.1);
    double gx = 0, gy = 0;
    do {
      gx = np_random_.Uniform(-0.2, 0.2);
      gy = np_random_.Uniform(-0.2, 0.2);
    } while (!(std::hypot(gx, gy) < 0.2));
    qpos[qpos.size() - 2] = gx;
    qpos[qpos.size() - 1] = gy;
    auto qvel = UniformAround(init_qvel_, -0.005, 0.005);
    qvel[qvel.size() - 2] = qvel[qvel.size() - 1] = 0;
    SetQ(qpos, qvel);
  }
  // the reward is taken before the simulation step (as in v4)
  env::StepResult Advance(const Action& action) override {
    const double reward_dist = -Norm(BodyXpos(fingertip_), BodyXpos(target_));
    const double reward_ctrl = -SquaredNorm(action.continuous);
    DoSimulation(action);
    info_.Set("reward_dist", reward_dist);
    info_.Set("reward_ctrl", reward_ctrl);
    return {reward_dist + reward_ctrl, false, false};
  }

 private:
  int fingertip_, target_;  // body ids
};

class Pusher final : public MujocoEnv {
 public:
  explicit Pusher(const env::KwargReader& k)
      : MujocoEnv("pusher.xml", 5, 23, Frames(k, {.distance = 4.0})),
        tips_arm_(BodyId("tips_arm")),
        object_(BodyId("object")),
        goal_(BodyId("goal")) {}

 protected:
  // [7 arm angles, 7 arm velocities, fingertip, object and goal positions]
  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    w.Put(qpos().first(7));
    w.Put(qvel().first(7));
    for (int body : {tips_arm_, object_, goal_}) {
      for (double x : BodyXpos(body)) w.Put(x);
    }
  }
  // the cylinder lands uniformly in [-0.3, 0] x [-0.2, 0.2] but more than 0.17 from the goal (0, 0)
  void ResetModel() override {
    auto qpos = init_qpos_;
    double cx = 0, cy = 0;
    do {
      cx = np_random_.Uniform(-0.3, 0.0);
      cy = np_random_.Uniform(-0.2, 0.2);
    } while (!(std::hypot(cx, cy) > 0.17));
    const size_t n = qpos.size();
    qpos[n - 4] = cx;
    qpos[n - 3] = cy;
    qpos[n - 2] = qpos[n - 1] = 0.0;
    auto qvel = UniformAround(init_qvel_, -0.005, 0.005);
    std::fill(qvel.end() - 4, qvel.end(), 0.0);
    SetQ(qpos, qvel);
  }
  env::StepResult Advance(const Action& action) override {
    const double reward_near = -Norm(BodyXpos(object_), BodyXpos(tips_arm_));
    const double reward_dist = -Norm(BodyXpos(object_), BodyXpos(goal_));
    const double reward_ctrl = -SquaredNorm(action.continuous);
    DoSimulation(action);
    info_.Set("reward_dist", reward_dist);
    info_.Set("reward_ctrl", reward_ctrl);
    return {reward_dist + 0.1 * reward_ctrl + 0.5 * reward_near, false, false};
  }

 private:
  int tips_arm_, object_, goal_;  // body ids
};

}  // namespace

std::unique_ptr<env::Env> MakeInvertedPendulum(const env::KwargReader& k) {
  return std::make_unique<InvertedPendulum>(k);
}
std::unique_ptr<env::Env> MakeInvertedDoublePendulum(const env::KwargReader& k) {
  return std::make_unique<InvertedDoublePendulum>(k);
}
std::unique_ptr<env::Env> MakeReacher(const env::KwargReader& k) {
  return std::make_unique<Reacher>(k);
}
std::unique_ptr<env::Env> MakePusher(const env::KwargReader& k) {
  return std::make_unique<Pusher>(k);
}

}  // namespace rlforge::envs::mujoco
