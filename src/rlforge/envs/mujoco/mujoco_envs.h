// The MuJoCo environments' factories and the small pieces their implementations share.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <span>
#include <utility>

#include "rlforge/envs/mujoco/mujoco_env.h"

namespace rlforge::envs::mujoco {

inline constexpr const char* kExcludeXy = "exclude_current_positions_from_observation";

// Appends values to an observation, rounding to float32 and optionally clipping to +-clip.
struct ObsWriter {
  float* out;
  void Put(double x) { *out++ = static_cast<float>(x); }
  void Put(std::span<const double> xs, double clip = std::numeric_limits<double>::infinity()) {
    for (double x : xs) Put(std::clamp(x, -clip, clip));
  }
};

// The (low, high) pair of a tuple kwarg such as healthy_z_range.
std::pair<double, double> Range(const env::KwargReader& k, const char* name);
// Render size from the width/height kwargs, with the env's camera config.
RenderOptions Frames(const env::KwargReader& k, CameraConfig camera);

std::unique_ptr<env::Env> MakeHalfCheetah(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeHopper(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeWalker2d(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeAnt(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeHumanoid(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeHumanoidStandup(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeSwimmer(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeInvertedPendulum(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeInvertedDoublePendulum(const env::KwargReader& k);
std::unique_ptr<env::Env> MakeReacher(const env::KwargReader& k);
std::unique_ptr<env::Env> MakePusher(const env::KwargReader& k);

}  // namespace rlforge::envs::mujoco
