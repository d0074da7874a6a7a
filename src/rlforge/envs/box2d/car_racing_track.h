// CarRacing's procedural track, as gymnasium/envs/box2d/car_racing.py draws it: 12 checkpoints
// jittered around a circle, a path traced from checkpoint to checkpoint with a bounded turn rate,
// one lap cut out of it where it crosses the start line, then road tiles and red-white kerbs on
// hard turns. Same RNG draws and the same libm calls, so a seed gives Gymnasium's track.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "rlforge/core/rng.h"

namespace rlforge::envs::box2d {

inline constexpr double kTrackScale = 6.0;
inline constexpr double kTrackRad = 900 / kTrackScale;    // the morphed circle's radius
inline constexpr double kPlayfield = 2000 / kTrackScale;  // leaving it ends the episode
inline constexpr double kTrackDetailStep = 21 / kTrackScale;
inline constexpr double kTrackTurnRate = 0.31;
inline constexpr double kTrackWidth = 40 / kTrackScale;  // half the road's width
inline constexpr double kBorder = 8 / kTrackScale;
inline constexpr int kBorderMinCount = 4;

struct TrackPoint {
  double alpha;  // angle around the centre, radians
  double beta;   // heading, radians (direction of travel minus pi/2)
  double x, y;   // position
};

using Quad = std::array<std::array<double, 2>, 4>;

struct Kerb {
  int tile;    // drawn right after this tile
  Quad quad;   // outside the road's edge on the turn's outer side
  bool white;  // else red
};

struct Track {
  std::vector<TrackPoint> points;  // centre line                         (N)
  std::vector<Quad> tiles;         // tile i spans points i-1 and i: left/right at i, right/left
                                   // at i-1                             (N)
  std::vector<Kerb> kerbs;         // red-white borders on hard turns
};

// One attempt; nullopt when the traced path does not close into a clean loop (Gymnasium retries,
// drawing new checkpoints from the same RNG).
std::optional<Track> TryTrack(Rng& rng);
// Retries until a track closes, like Gymnasium's reset.
Track GenerateTrack(Rng& rng);

}  // namespace rlforge::envs::box2d
