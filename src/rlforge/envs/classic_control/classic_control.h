// Gymnasium's classic-control environments, ported bit-exactly (float64 state, Gymnasium's
// expression order, glibc libm, no FMA contraction): CartPole-v1, Pendulum-v1, MountainCar-v0,
// MountainCarContinuous-v0, Acrobot-v1.
#pragma once

#include <algorithm>
#include <array>
#include <memory>

#include "rlforge/env/registry.h"

namespace rlforge::envs {

void RegisterClassicControl();

std::unique_ptr<env::Env> MakeCartPole(const env::KwargReader& kwargs);
std::unique_ptr<env::Env> MakePendulum(const env::KwargReader& kwargs);
std::unique_ptr<env::Env> MakeMountainCar(const env::KwargReader& kwargs);
std::unique_ptr<env::Env> MakeMountainCarContinuous(const env::KwargReader& kwargs);
std::unique_ptr<env::Env> MakeAcrobot(const env::KwargReader& kwargs);

// Python's x ** y on floats: glibc pow(), which can differ from x * x by one ulp. Gymnasium
// squares with **, so a bit-exact port must too (the call is opaque so the compiler cannot
// turn pow(x, 2) into x * x).
double PyPow(double x, double y);

// Checks the size of a state vector passed to SetState.
void CheckStateSize(const env::EnvSpec& spec, std::span<const double> state, size_t expected);

// A classic-control env: fixed spaces and a float64 state of N values.
template <size_t N>
class ClassicEnv : public env::FloatEnv {
 public:
  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }

  std::vector<double> GetState() const override { return {state_.begin(), state_.end()}; }
  void SetState(std::span<const double> state) override {
    CheckStateSize(spec(), state, N);
    std::copy(state.begin(), state.end(), state_.begin());
    ClearEpisodeBookkeeping();
  }

 protected:
  ClassicEnv(Space observation_space, Space action_space)
      : obs_space_(std::move(observation_space)), act_space_(std::move(action_space)) {}
  virtual void ClearEpisodeBookkeeping() {}  // what reset() clears besides the state
  // bookkeeping that a snapshot must keep (set after SetState has cleared it)
  virtual std::vector<double> Bookkeeping() const { return {}; }
  virtual void SetBookkeeping(const std::vector<double>&) {}

 public:
  void SaveSnapshot(ByteWriter& out) const override {
    env::FloatEnv::SaveSnapshot(out);
    out.PutVector(Bookkeeping());
  }
  void LoadSnapshot(ByteReader& in) override {
    env::FloatEnv::LoadSnapshot(in);
    SetBookkeeping(in.GetVector<double>());
  }

 protected:
  Space obs_space_, act_space_;
  std::array<double, N> state_{};  // physical state (layout per env)
};

}  // namespace rlforge::envs
