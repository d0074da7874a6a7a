// Query clips re-rendered from the simulator states stored with a segment: set_state, then
// render, step by step, so no live env and no replay of actions is needed.
#pragma once

#include <span>
#include <string>

#include "rlforge/env/env.h"

namespace rlforge::feedback {

// Writes `steps` frames of `env` set to each row of `states` (steps x state_dim) to `path`
// (.mp4 or .webm).
void RenderClip(env::Env& env, std::span<const double> states, int64_t steps,
                const std::string& path, int fps);

}  // namespace rlforge::feedback
