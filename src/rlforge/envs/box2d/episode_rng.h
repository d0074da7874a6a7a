// The env's RNG at an episode's start, as plain numbers for get_state: the Box2D envs whose
// terrain or track is drawn at reset (BipedalWalker, CarRacing) rebuild it from these words.
#pragma once

#include <array>
#include <span>
#include <string>

#include "rlforge/core/error.h"
#include "rlforge/core/rng.h"

namespace rlforge::envs::box2d {

constexpr size_t kRngWords = 10;  // PCG64 state and increment (4 + 4 words), buffered half (2)
using RngWordArray = std::array<double, kRngWords>;

inline RngWordArray RngWords(const Rng& rng) {
  RngWordArray w{};
  const uint128 s = rng.state(), inc = rng.inc();
  for (int i = 0; i < 4; ++i) {
    w[i] = static_cast<double>(static_cast<uint32_t>(s >> (32 * i)));
    w[4 + i] = static_cast<double>(static_cast<uint32_t>(inc >> (32 * i)));
  }
  w[8] = rng.has_uint32();
  w[9] = rng.uinteger();
  return w;
}

// Throws naming `env_id` when the words cannot be a PCG64 state (its increment is always odd).
inline Rng RngFromWords(std::span<const double> w, const std::string& env_id) {
  uint128 s = 0, inc = 0;
  for (int i = 3; i >= 0; --i) {
    s = (s << 32) | static_cast<uint32_t>(w[i]);
    inc = (inc << 32) | static_cast<uint32_t>(w[4 + i]);
  }
  if ((inc & 1) == 0) throw Error(env_id + ": state holds no valid episode RNG (first 10 values)");
  Rng rng;
  rng.SetState(s, inc);
  rng.SetBuffered(w[8] != 0, static_cast<uint32_t>(w[9]));
  return rng;
}

}  // namespace rlforge::envs::box2d
