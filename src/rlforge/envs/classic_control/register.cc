#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/envs/classic_control/classic_control.h"

namespace rlforge::envs {

double PyPow(double x, double y) {
  volatile double exponent = y;
  return std::pow(x, exponent);
}

void CheckStateSize(const env::EnvSpec& spec, std::span<const double> state, size_t expected) {
  if (state.size() != expected) {
    throw Error(spec.id + ": state must have " + std::to_string(expected) + " values, got " +
                std::to_string(state.size()));
  }
}

void RegisterClassicControl() {
  using env::EnvEntry;
  env::Register(
      EnvEntry{{"CartPole-v1", 500, 475.0},
               "balance a pole on a cart by pushing it left or right",
               {{"sutton_barto_reward", false, "reward 0 per step and -1 on termination"}},
               MakeCartPole});
  env::Register(EnvEntry{{"Pendulum-v1", 200, std::nullopt},
                         "swing a pendulum up and keep it upright with bounded torque",
                         {{"g", 10.0, "gravity"}},
                         MakePendulum});
  env::Register(EnvEntry{{"MountainCar-v0", 200, -110.0},
                         "drive an underpowered car up a hill (3 discrete actions)",
                         {{"goal_velocity", 0.0, "velocity needed at the goal"}},
                         MakeMountainCar});
  env::Register(EnvEntry{{"MountainCarContinuous-v0", 999, 90.0},
                         "drive an underpowered car up a hill (continuous force)",
                         {{"goal_velocity", 0.0, "velocity needed at the goal"}},
                         MakeMountainCarContinuous});
  env::Register(EnvEntry{{"Acrobot-v1", 500, -100.0},
                         "swing a two-link pendulum's tip above a line",
                         {},
                         MakeAcrobot});
}

}  // namespace rlforge::envs
