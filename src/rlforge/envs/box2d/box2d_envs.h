// Gymnasium's Box2D environments on Debian's Box2D: LunarLander-v3, BipedalWalker-v3,
// CarRacing-v3.
#pragma once

#include <memory>

#include "rlforge/env/registry.h"

namespace rlforge::envs::box2d {

void RegisterBox2d();

std::unique_ptr<env::Env> MakeLunarLander(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeBipedalWalker(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeCarRacing(const env::KwargReader& k);

}  // namespace rlforge::envs::box2d
