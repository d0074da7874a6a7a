// Gymnasium's v4 locomotion tasks: HalfCheetah, Hopper, Walker2d, Ant, Humanoid,
// HumanoidStandup, Swimmer (gymnasium/envs/mujoco/*_v4.py: same observation layout, reward terms
// and default weights, reset noise, healthy ranges, info keys and kwargs).
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "rlforge/core/error.h"
#include "rlforge/envs/mujoco/mujoco_envs.h"

namespace rlforge::envs::mujoco {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The healthy bonus and termination rule shared by Hopper, Walker2d, Ant and Humanoid.
struct Health {
  double reward;                  // healthy_reward
  bool terminate_when_unhealthy;  // terminate_when_unhealthy
  std::pair<double, double> z;    // healthy_z_range

  explicit Health(const env::KwargReader& k)
      : reward(k.Double("healthy_reward")),
        terminate_when_unhealthy(k.Bool("terminate_when_unhealthy")),
        z(Range(k, "healthy_z_range")) {}
  // healthy_reward: paid while healthy, or always when unhealthy episodes terminate anyway
  double Reward(bool healthy) const { return (healthy || terminate_when_unhealthy) ? reward : 0; }
  bool Terminated(bool healthy) const { return terminate_when_unhealthy && !healthy; }
};

// Planar runners whose forward progress is qpos[0]: HalfCheetah, Hopper, Walker2d.
class PlanarRunner : public MujocoEnv {
 protected:
  PlanarRunner(const std::string& file, int frame_skip, int obs_size, const env::KwargReader& k,
               CameraConfig camera)
      : MujocoEnv(file, frame_skip, obs_size + (k.Bool(kExcludeXy) ? 0 : 1), Frames(k, camera)),
        forward_reward_weight_(k.Double("forward_reward_weight")),
        ctrl_cost_weight_(k.Double("ctrl_cost_weight")),
        reset_noise_scale_(k.Double("reset_noise_scale")),
        exclude_x_(k.Bool(kExcludeXy)) {}

  // qpos (without x), qvel clipped to +-clip_velocity
  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    w.Put(qpos().subspan(exclude_x_ ? 1 : 0));
    w.Put(qvel(), clip_velocity_);
  }

  // One step: the forward velocity of qpos[0] and the control cost; sets the common info keys.
  struct Progress {
    double forward_reward, ctrl_cost;
  };
  Progress Run(const Action& action) {
    const double x_before = qpos()[0];
    DoSimulation(action);
    const double x_after = qpos()[0];
    const double x_velocity = (x_after - x_before) / dt();
    info_.Set("x_position", x_after);
    info_.Set("x_velocity", x_velocity);
    return {forward_reward_weight_ * x_velocity,
            ctrl_cost_weight_ * SquaredNorm(action.continuous)};
  }

  double forward_reward_weight_, ctrl_cost_weight_, reset_noise_scale_;
  bool exclude_x_;
  double clip_velocity_ = kInf;
};

class HalfCheetah final : public PlanarRunner {
 public:
  explicit HalfCheetah(const env::KwargReader& k)
      : PlanarRunner("half_cheetah.xml", 5, 17, k, {.distance = 4.0}) {}

 protected:
  void ResetModel() override { ResetUniformNormal(reset_noise_scale_, reset_noise_scale_); }
  env::StepResult Advance(const Action& action) override {
    const auto [forward_reward, ctrl_cost] = Run(action);
    info_.Set("reward_run", forward_reward);
    info_.Set("reward_ctrl", -ctrl_cost);
    return {forward_reward - ctrl_cost, false, false};
  }
};

// Hopper and Walker2d: forward velocity + healthy reward - control cost; healthy while the torso
// height and angle, and (Hopper) every [qpos, qvel][2:] value, lie strictly inside their ranges.
class PlanarWalker final : public PlanarRunner {
 public:
  PlanarWalker(const std::string& file, int obs_size, const env::KwargReader& k,
               CameraConfig camera, std::pair<double, double> state_range)
      : PlanarRunner(file, 4, obs_size, k, camera),
        health_(k),
        state_range_(state_range),
        angle_range_(Range(k, "healthy_angle_range")) {
    clip_velocity_ = 10.0;
  }

 protected:
  bool IsHealthy() const {
    const auto inside = [](double x, std::pair<double, double> r) {
      return r.first < x && x < r.second;
    };
    const auto in_state_range = [&](double x) { return inside(x, state_range_); };
    return std::ranges::all_of(qpos().subspan(2), in_state_range) &&
           std::ranges::all_of(qvel(), in_state_range) && inside(qpos()[1], health_.z) &&
           inside(qpos()[2], angle_range_);
  }
  void ResetModel() override { ResetUniform(reset_noise_scale_, reset_noise_scale_); }
  env::StepResult Advance(const Action& action) override {
    const auto [forward_reward, ctrl_cost] = Run(action);
    const bool healthy = IsHealthy();
    return {forward_reward + health_.Reward(healthy) - ctrl_cost, health_.Terminated(healthy),
            false};
  }

 private:
  Health health_;
  std::pair<double, double> state_range_, angle_range_;
};

// Sets the planar-motion info keys of Ant, Humanoid and Swimmer from positions before/after.
void SetXyInfo(env::Info& info, std::array<double, 2> before, std::array<double, 2> after,
               double dt, double forward_reward) {
  info.Set("x_position", after[0]);
  info.Set("y_position", after[1]);
  info.Set("distance_from_origin", std::hypot(after[0], after[1]));
  info.Set("x_velocity", (after[0] - before[0]) / dt);
  info.Set("y_velocity", (after[1] - before[1]) / dt);
  info.Set("forward_reward", forward_reward);
}

class Ant final : public MujocoEnv {
 public:
  explicit Ant(const env::KwargReader& k)
      : MujocoEnv("ant.xml", 5,
                  27 + (k.Bool(kExcludeXy) ? 0 : 2) + (k.Bool("use_contact_forces") ? 84 : 0),
                  Frames(k, {.distance = 4.0})),
        ctrl_cost_weight_(k.Double("ctrl_cost_weight")),
        contact_cost_weight_(k.Double("contact_cost_weight")),
        contact_force_range_(Range(k, "contact_force_range")),
        reset_noise_scale_(k.Double("reset_noise_scale")),
        use_contact_forces_(k.Bool("use_contact_forces")),
        exclude_xy_(k.Bool(kExcludeXy)),
        health_(k),
        torso_(BodyId("torso")) {
    reads_contact_forces_ = use_contact_forces_;
  }

 protected:
  double ClippedContactForce(int i) const {
    return std::clamp(data_->cfrc_ext[i], contact_force_range_.first, contact_force_range_.second);
  }
  // every qpos/qvel finite and the torso's z inside the closed healthy range
  bool IsHealthy() const {
    const auto finite = [](double x) { return std::isfinite(x); };
    if (!std::ranges::all_of(qpos(), finite) || !std::ranges::all_of(qvel(), finite)) return false;
    const double z = qpos()[2];
    return health_.z.first <= z && z <= health_.z.second;
  }

  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    w.Put(qpos().subspan(exclude_xy_ ? 2 : 0));
    w.Put(qvel());
    if (use_contact_forces_) {
      for (int i = 0; i < 6 * model_->nbody; ++i) w.Put(ClippedContactForce(i));
    }
  }
  void ResetModel() override { ResetUniformNormal(reset_noise_scale_, reset_noise_scale_); }
  env::StepResult Advance(const Action& action) override {
    const auto before = BodyXpos(torso_);
    DoSimulation(action);
    const auto after = BodyXpos(torso_);
    const double forward_reward = (after[0] - before[0]) / dt();
    const bool healthy = IsHealthy();
    const double healthy_reward = health_.Reward(healthy);
    const double ctrl_cost = ctrl_cost_weight_ * SquaredNorm(action.continuous);
    double costs = ctrl_cost;
    info_.Set("reward_forward", forward_reward);
    info_.Set("reward_ctrl", -ctrl_cost);
    info_.Set("reward_survive", healthy_reward);
    SetXyInfo(info_, {before[0], before[1]}, {after[0], after[1]}, dt(), forward_reward);
    if (use_contact_forces_) {
      double sum = 0;
      for (int i = 0; i < 6 * model_->nbody; ++i)
        sum += ClippedContactForce(i) * ClippedContactForce(i);
      const double contact_cost = contact_cost_weight_ * sum;
      costs += contact_cost;
      info_.Set("reward_ctrl", -contact_cost);  // sic: Ant-v4 overwrites reward_ctrl
    }
    return {forward_reward + healthy_reward - costs, health_.Terminated(healthy), false};
  }

 private:
  double ctrl_cost_weight_, contact_cost_weight_;
  std::pair<double, double> contact_force_range_;
  double reset_noise_scale_;
  bool use_contact_forces_, exclude_xy_;
  Health health_;
  int torso_;  // body id of "torso"
};

// Humanoid's and HumanoidStandup's observation: qpos[2:] (or qpos), qvel, cinert, cvel,
// qfrc_actuator, cfrc_ext, all of every body including the world.
int HumanoidObsSize(const mjModel& m, bool exclude_xy) {
  return (m.nq - (exclude_xy ? 2 : 0)) + m.nv + 10 * m.nbody + 6 * m.nbody + m.nv + 6 * m.nbody;
}
void ObserveHumanoid(const mjModel& m, const mjData& d, bool exclude_xy, float* obs) {
  ObsWriter w{obs};
  w.Put({d.qpos + (exclude_xy ? 2 : 0), d.qpos + m.nq});
  w.Put({d.qvel, d.qvel + m.nv});
  w.Put({d.cinert, d.cinert + 10 * m.nbody});
  w.Put({d.cvel, d.cvel + 6 * m.nbody});
  w.Put({d.qfrc_actuator, d.qfrc_actuator + m.nv});
  w.Put({d.cfrc_ext, d.cfrc_ext + 6 * m.nbody});
}
double SquaredSum(const double* x, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i] * x[i];
  return sum;
}

class Humanoid final : public MujocoEnv {
 public:
  explicit Humanoid(const env::KwargReader& k)
      : MujocoEnv(
            "humanoid.xml", 5, HumanoidObsSize(*LoadModel("humanoid.xml"), k.Bool(kExcludeXy)),
            Frames(
                k,
                {.track_body = 1, .distance = 4.0, .lookat = {{0, 0, 2.0}}, .elevation = -20.0})),
        forward_reward_weight_(k.Double("forward_reward_weight")),
        ctrl_cost_weight_(k.Double("ctrl_cost_weight")),
        reset_noise_scale_(k.Double("reset_noise_scale")),
        exclude_xy_(k.Bool(kExcludeXy)),
        health_(k) {
    reads_contact_forces_ = true;
  }

 protected:
  // x, y of the centre of mass: sum(mass_i * xipos_i) / sum(mass_i)
  std::array<double, 2> MassCenter() const {
    double mass = 0, x = 0, y = 0;
    for (int b = 0; b < model_->nbody; ++b) {
      mass += model_->body_mass[b];
      x += model_->body_mass[b] * data_->xipos[3 * b];
      y += model_->body_mass[b] * data_->xipos[3 * b + 1];
    }
    return {x / mass, y / mass};
  }
  void ObserveInto(float* obs) const override {
    ObserveHumanoid(*model_, *data_, exclude_xy_, obs);
  }
  void ResetModel() override { ResetUniform(reset_noise_scale_, reset_noise_scale_); }
  env::StepResult Advance(const Action& action) override {
    const auto before = MassCenter();
    DoSimulation(action);
    const auto after = MassCenter();
    const double forward_reward = forward_reward_weight_ * (after[0] - before[0]) / dt();
    const double z = qpos()[2];
    const bool healthy = health_.z.first < z && z < health_.z.second;
    const double healthy_reward = health_.Reward(healthy);
    const double ctrl_cost = ctrl_cost_weight_ * SquaredSum(data_->ctrl, model_->nu);
    info_.Set("reward_linvel", forward_reward);
    info_.Set("reward_quadctrl", -ctrl_cost);
    info_.Set("reward_alive", healthy_reward);
    SetXyInfo(info_, before, after, dt(), forward_reward);
    return {forward_reward + healthy_reward - ctrl_cost, health_.Terminated(healthy), false};
  }

 private:
  double forward_reward_weight_, ctrl_cost_weight_, reset_noise_scale_;
  bool exclude_xy_;
  Health health_;
};

class HumanoidStandup final : public MujocoEnv {
 public:
  explicit HumanoidStandup(const env::KwargReader& k)
      : MujocoEnv("humanoidstandup.xml", 5,
                  HumanoidObsSize(*LoadModel("humanoidstandup.xml"), true),
                  Frames(k, {.track_body = 1,
                             .distance = 4.0,
                             .lookat = {{0, 0, 0.8925}},
                             .elevation = -20.0})) {
    reads_contact_forces_ = true;
  }

 protected:
  void ObserveInto(float* obs) const override { ObserveHumanoid(*model_, *data_, true, obs); }
  void ResetModel() override { ResetUniform(0.01, 0.01); }
  env::StepResult Advance(const Action& action) override {
    DoSimulation(action);
    const double uph_cost = (qpos()[2] - 0) / model_->opt.timestep;
    const double quad_ctrl_cost = 0.1 * SquaredSum(data_->ctrl, model_->nu);
    const double quad_impact_cost =
        std::min(0.5e-6 * SquaredSum(data_->cfrc_ext, 6 * model_->nbody), 10.0);
    info_.Set("reward_linup", uph_cost);
    info_.Set("reward_quadctrl", -quad_ctrl_cost);
    info_.Set("reward_impact", -quad_impact_cost);
    return {uph_cost - quad_ctrl_cost - quad_impact_cost + 1, false, false};
  }
};

class Swimmer final : public MujocoEnv {
 public:
  explicit Swimmer(const env::KwargReader& k)
      : MujocoEnv("swimmer.xml", 4, k.Bool(kExcludeXy) ? 8 : 10, Frames(k, {})),
        forward_reward_weight_(k.Double("forward_reward_weight")),
        ctrl_cost_weight_(k.Double("ctrl_cost_weight")),
        reset_noise_scale_(k.Double("reset_noise_scale")),
        exclude_xy_(k.Bool(kExcludeXy)) {}

 protected:
  void ObserveInto(float* obs) const override {
    ObsWriter w{obs};
    w.Put(qpos().subspan(exclude_xy_ ? 2 : 0));
    w.Put(qvel());
  }
  void ResetModel() override { ResetUniform(reset_noise_scale_, reset_noise_scale_); }
  env::StepResult Advance(const Action& action) override {
    const std::array<double, 2> before{qpos()[0], qpos()[1]};
    DoSimulation(action);
    const std::array<double, 2> after{qpos()[0], qpos()[1]};
    const double forward_reward = forward_reward_weight_ * (after[0] - before[0]) / dt();
    const double ctrl_cost = ctrl_cost_weight_ * SquaredNorm(action.continuous);
    info_.Set("reward_fwd", forward_reward);
    info_.Set("reward_ctrl", -ctrl_cost);
    SetXyInfo(info_, before, after, dt(), forward_reward);
    return {forward_reward - ctrl_cost, false, false};
  }

 private:
  double forward_reward_weight_, ctrl_cost_weight_, reset_noise_scale_;
  bool exclude_xy_;
};

}  // namespace

std::unique_ptr<env::Env> MakeHalfCheetah(const env::KwargReader& k) {
  return std::make_unique<HalfCheetah>(k);
}
std::unique_ptr<env::Env> MakeHopper(const env::KwargReader& k) {
  return std::make_unique<PlanarWalker>(
      "hopper.xml", 11, k,
      CameraConfig{.track_body = 2, .distance = 3.0, .lookat = {{0, 0, 1.15}}, .elevation = -20.0},
      Range(k, "healthy_state_range"));
}
std::unique_ptr<env::Env> MakeWalker2d(const env::KwargReader& k) {
  return std::make_unique<PlanarWalker>(
      "walker2d.xml", 17, k,
      CameraConfig{.track_body = 2, .distance = 4.0, .lookat = {{0, 0, 1.15}}, .elevation = -20.0},
      std::pair{-kInf, kInf});
}
std::unique_ptr<env::Env> MakeAnt(const env::KwargReader& k) { return std::make_unique<Ant>(k); }
std::unique_ptr<env::Env> MakeHumanoid(const env::KwargReader& k) {
  return std::make_unique<Humanoid>(k);
}
std::unique_ptr<env::Env> MakeHumanoidStandup(const env::KwargReader& k) {
  return std::make_unique<HumanoidStandup>(k);
}
std::unique_ptr<env::Env> MakeSwimmer(const env::KwargReader& k) {
  return std::make_unique<Swimmer>(k);
}

}  // namespace rlforge::envs::mujoco
