#include <limits>

#include "rlforge/core/error.h"
#include "rlforge/envs/mujoco/mujoco_envs.h"

namespace rlforge::envs::mujoco {

std::pair<double, double> Range(const env::KwargReader& k, const char* name) {
  const auto& v = k.Numbers(name);
  if (v.size() != 2 || !(v[0] <= v[1])) {
    throw Error(std::string("kwarg '") + name + "': expected [low, high] with low <= high");
  }
  return {v[0], v[1]};
}

RenderOptions Frames(const env::KwargReader& k, CameraConfig camera) {
  return {static_cast<int>(k.Int("width")), static_cast<int>(k.Int("height")), camera};
}

namespace {

using env::KwargSpec;
using Kwargs = std::vector<KwargSpec>;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Kwargs every MuJoCo env takes, after its own.
Kwargs WithRender(Kwargs own) {
  own.push_back({"width", int64_t{480}, "width of rendered frames in pixels"});
  own.push_back({"height", int64_t{480}, "height of rendered frames in pixels"});
  return own;
}

KwargSpec Weight(const char* name, double value, const char* what) { return {name, value, what}; }
KwargSpec Noise(double scale) {
  return {"reset_noise_scale", scale, "scale of the random perturbation of the initial state"};
}
KwargSpec ExcludeXy(const char* what) { return {kExcludeXy, true, what}; }
KwargSpec Pair(const char* name, double low, double high, const char* what) {
  return {name, std::vector<double>{low, high}, what};
}
KwargSpec HealthyReward(double value) {
  return {"healthy_reward", value, "reward per step while healthy"};
}
KwargSpec TerminateWhenUnhealthy() {
  return {"terminate_when_unhealthy", true, "end the episode (terminated) when unhealthy"};
}

}  // namespace

void RegisterMujoco() {
  using env::EnvEntry;
  env::Register(EnvEntry{
      {"HalfCheetah-v4", 1000, 4800.0},
      "make a 2-D cheetah run forward",
      WithRender({Weight("forward_reward_weight", 1.0, "weight of the forward-velocity reward"),
                  Weight("ctrl_cost_weight", 0.1, "weight of the control cost"), Noise(0.1),
                  ExcludeXy("omit the x position from observations")}),
      MakeHalfCheetah});
  env::Register(EnvEntry{
      {"Hopper-v4", 1000, 3800.0},
      "make a one-legged 2-D robot hop forward",
      WithRender({Weight("forward_reward_weight", 1.0, "weight of the forward-velocity reward"),
                  Weight("ctrl_cost_weight", 1e-3, "weight of the control cost"),
                  HealthyReward(1.0), TerminateWhenUnhealthy(),
                  Pair("healthy_state_range", -100, 100, "range of every qpos[2:]/qvel value"),
                  Pair("healthy_z_range", 0.7, kInf, "range of the torso height"),
                  Pair("healthy_angle_range", -0.2, 0.2, "range of the torso angle"), Noise(5e-3),
                  ExcludeXy("omit the x position from observations")}),
      MakeHopper});
  env::Register(EnvEntry{
      {"Walker2d-v4", 1000, std::nullopt},
      "make a two-legged 2-D robot walk forward",
      WithRender({Weight("forward_reward_weight", 1.0, "weight of the forward-velocity reward"),
                  Weight("ctrl_cost_weight", 1e-3, "weight of the control cost"),
                  HealthyReward(1.0), TerminateWhenUnhealthy(),
                  Pair("healthy_z_range", 0.8, 2.0, "range of the torso height"),
                  Pair("healthy_angle_range", -1.0, 1.0, "range of the torso angle"), Noise(5e-3),
                  ExcludeXy("omit the x position from observations")}),
      MakeWalker2d});
  env::Register(EnvEntry{
      {"Ant-v4", 1000, 6000.0},
      "make a four-legged 3-D robot walk forward",
      WithRender({Weight("ctrl_cost_weight", 0.5, "weight of the control cost"),
                  {"use_contact_forces", false, "add clipped contact forces to obs and cost"},
                  Weight("contact_cost_weight", 5e-4, "weight of the contact cost"),
                  HealthyReward(1.0),
                  TerminateWhenUnhealthy(),
                  Pair("healthy_z_range", 0.2, 1.0, "range of the torso height"),
                  Pair("contact_force_range", -1.0, 1.0, "clip range of contact forces"),
                  Noise(0.1),
                  ExcludeXy("omit the x, y position from observations")}),
      MakeAnt});
  env::Register(EnvEntry{
      {"Humanoid-v4", 1000, std::nullopt},
      "make a 3-D humanoid walk forward without falling",
      WithRender({Weight("forward_reward_weight", 1.25, "weight of the forward-velocity reward"),
                  Weight("ctrl_cost_weight", 0.1, "weight of the control cost"), HealthyReward(5.0),
                  TerminateWhenUnhealthy(),
                  Pair("healthy_z_range", 1.0, 2.0, "range of the torso height"), Noise(1e-2),
                  ExcludeXy("omit the x, y position from observations")}),
      MakeHumanoid});
  env::Register(EnvEntry{{"HumanoidStandup-v4", 1000, std::nullopt},
                         "make a 3-D humanoid lying on the ground stand up",
                         WithRender({}),
                         MakeHumanoidStandup});
  env::Register(EnvEntry{
      {"Swimmer-v4", 1000, 360.0},
      "make a three-link swimmer move forward in a viscous fluid",
      WithRender({Weight("forward_reward_weight", 1.0, "weight of the forward-velocity reward"),
                  Weight("ctrl_cost_weight", 1e-4, "weight of the control cost"), Noise(0.1),
                  ExcludeXy("omit the x, y position from observations")}),
      MakeSwimmer});
  env::Register(EnvEntry{{"InvertedPendulum-v4", 1000, 950.0},
                         "balance a pole on a cart (MuJoCo)",
                         WithRender({}),
                         MakeInvertedPendulum});
  env::Register(EnvEntry{{"InvertedDoublePendulum-v4", 1000, 9100.0},
                         "balance a two-link pole on a cart",
                         WithRender({}),
                         MakeInvertedDoublePendulum});
  env::Register(EnvEntry{{"Reacher-v4", 50, -3.75},
                         "move a two-joint arm's fingertip to a random target",
                         WithRender({}),
                         MakeReacher});
  env::Register(EnvEntry{{"Pusher-v4", 100, 0.0},
                         "push a cylinder to a goal with a 7-DoF arm",
                         WithRender({}),
                         MakePusher});
}

}  // namespace rlforge::envs::mujoco
