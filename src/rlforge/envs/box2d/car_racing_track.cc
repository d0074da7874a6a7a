#include "rlforge/envs/box2d/car_racing_track.h"

#include <cmath>

namespace rlforge::envs::box2d {
namespace {

constexpr int kCheckpoints = 12;

struct Checkpoint {
  double alpha, x, y;
};

double Sign(double x) { return static_cast<double>((x > 0) - (x < 0)); }

// Python's a[i] for i in [-n, n).
template <typename T>
auto& At(std::vector<T>& v, long i) {
  return v[static_cast<size_t>(i < 0 ? i + static_cast<long>(v.size()) : i)];
}

std::array<Checkpoint, kCheckpoints> Checkpoints(Rng& rng) {
  std::array<Checkpoint, kCheckpoints> cps;
  for (int c = 0; c < kCheckpoints; ++c) {
    const double noise = rng.Uniform(0, 2 * M_PI * 1 / kCheckpoints);
    double alpha = 2 * M_PI * c / kCheckpoints + noise;
    double rad = rng.Uniform(kTrackRad / 3, kTrackRad);
    if (c == 0) {  // the start, pushed outwards
      alpha = 0;
      rad = 1.5 * kTrackRad;
    }
    if (c == kCheckpoints - 1) {
      alpha = 2 * M_PI * c / kCheckpoints;
      rad = 1.5 * kTrackRad;
    }
    cps[c] = {alpha, rad * std::cos(alpha), rad * std::sin(alpha)};
  }
  return cps;
}

// Steers from checkpoint to checkpoint with a bounded turn rate for up to 5 laps.
std::vector<TrackPoint> Trace(const std::array<Checkpoint, kCheckpoints>& cps) {
  double x = 1.5 * kTrackRad, y = 0, beta = 0;
  int dest_i = 0, laps = 0, no_freeze = 2500;
  bool visited_other_side = false;
  std::vector<TrackPoint> track;
  while (true) {
    double alpha = std::atan2(y, x);
    if (visited_other_side && alpha > 0) {
      laps += 1;
      visited_other_side = false;
    }
    if (alpha < 0) {
      visited_other_side = true;
      alpha += 2 * M_PI;
    }
    Checkpoint dest;
    while (true) {  // the next checkpoint ahead in angle, wrapping around once
      bool failed = true;
      while (true) {
        dest = cps[dest_i % kCheckpoints];
        if (alpha <= dest.alpha) {
          failed = false;
          break;
        }
        dest_i += 1;
        if (dest_i % kCheckpoints == 0) break;
      }
      if (!failed) break;
      alpha -= 2 * M_PI;
    }
    const double r1x = std::cos(beta), r1y = std::sin(beta);
    const double p1x = -r1y, p1y = r1x;
    const double dest_dx = dest.x - x, dest_dy = dest.y - y;
    double proj = r1x * dest_dx + r1y * dest_dy;  // destination projected on the radius
    while (beta - alpha > 1.5 * M_PI) beta -= 2 * M_PI;
    while (beta - alpha < -1.5 * M_PI) beta += 2 * M_PI;
    const double prev_beta = beta;
    proj *= kTrackScale;
    if (proj > 0.3) beta -= std::min(kTrackTurnRate, std::abs(0.001 * proj));
    if (proj < -0.3) beta += std::min(kTrackTurnRate, std::abs(0.001 * proj));
    x += p1x * kTrackDetailStep;
    y += p1y * kTrackDetailStep;
    track.push_back({alpha, prev_beta * 0.5 + beta * 0.5, x, y});
    if (laps > 4) break;
    no_freeze -= 1;
    if (no_freeze == 0) break;
  }
  return track;
}

// The last full lap: between the last two crossings of the start line (the first lap is ignored).
std::optional<std::vector<TrackPoint>> CutLap(const std::vector<TrackPoint>& track) {
  const double start_alpha = 2 * M_PI * (-0.5) / kCheckpoints;
  long i1 = -1, i2 = -1;
  for (long i = static_cast<long>(track.size()) - 1;; --i) {
    if (i <= 0) return std::nullopt;
    const bool through_start = track[i].alpha > start_alpha && track[i - 1].alpha <= start_alpha;
    if (through_start && i2 == -1) {
      i2 = i;
    } else if (through_start && i1 == -1) {
      i1 = i;
      break;
    }
  }
  std::vector<TrackPoint> lap(track.begin() + i1, track.begin() + std::max(i1, i2 - 1));
  if (lap.empty()) return std::nullopt;
  // the head and tail must join: their offset across the road under one step
  const double px = std::cos(lap.front().beta), py = std::sin(lap.front().beta);
  const double dx = px * (lap.front().x - lap.back().x), dy = py * (lap.front().y - lap.back().y);
  if (std::sqrt(dx * dx + dy * dy) > kTrackDetailStep) return std::nullopt;
  return lap;
}

// Kerbs where at least kBorderMinCount consecutive steps turn the same way, hard enough.
std::vector<char> HardTurns(std::vector<TrackPoint>& t) {
  const long n = static_cast<long>(t.size());
  std::vector<char> border(t.size(), 0);
  for (long i = 0; i < n; ++i) {
    bool good = true;
    double oneside = 0;
    for (long neg = 0; neg < kBorderMinCount; ++neg) {
      const double beta1 = At(t, i - neg - 0).beta, beta2 = At(t, i - neg - 1).beta;
      good &= std::abs(beta1 - beta2) > kTrackTurnRate * 0.2;
      oneside += Sign(beta1 - beta2);
    }
    good &= std::abs(oneside) == kBorderMinCount;
    border[i] = good;
  }
  for (long i = 0; i < n; ++i)
    for (long neg = 0; neg < kBorderMinCount; ++neg) At(border, i - neg) |= border[i];
  return border;
}

// The point at `offset` along the heading's normal (cos beta, sin beta) from (x, y).
std::array<double, 2> Across(const TrackPoint& p, double offset) {
  return {p.x + offset * std::cos(p.beta), p.y + offset * std::sin(p.beta)};
}

}  // namespace

std::optional<Track> TryTrack(Rng& rng) {
  const auto cps = Checkpoints(rng);
  std::optional<std::vector<TrackPoint>> lap = CutLap(Trace(cps));
  if (!lap) return std::nullopt;
  Track track;
  track.points = std::move(*lap);
  std::vector<TrackPoint>& t = track.points;
  const std::vector<char> border = HardTurns(t);
  for (long i = 0; i < static_cast<long>(t.size()); ++i) {
    const TrackPoint &p1 = t[i], &p2 = At(t, i - 1);
    track.tiles.push_back({Across(p1, -kTrackWidth), Across(p1, kTrackWidth),
                           Across(p2, kTrackWidth), Across(p2, -kTrackWidth)});
    if (!border[i]) continue;
    const double side = Sign(p2.beta - p1.beta);
    track.kerbs.push_back(
        {static_cast<int>(i),
         {Across(p1, side * kTrackWidth), Across(p1, side * (kTrackWidth + kBorder)),
          Across(p2, side * (kTrackWidth + kBorder)), Across(p2, side * kTrackWidth)},
         i % 2 == 0});
  }
  return track;
}

Track GenerateTrack(Rng& rng) {
  while (true) {
    if (std::optional<Track> track = TryTrack(rng)) return *std::move(track);
  }
}

}  // namespace rlforge::envs::box2d
