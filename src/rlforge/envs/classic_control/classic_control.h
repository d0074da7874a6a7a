// Gymnasium's classic-control environments, ported bit-exactly (float64 state, Gymnasium's
// expression order, glibc libm, no FMA contraction): CartPole-v1, Pendulum-v1, MountainCar-v0,
// MountainCarContinuous-v0, Acrobot-v1.
#pragma once

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

}  // namespace rlforge::envs
