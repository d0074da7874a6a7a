// The environment interface, with Gymnasium semantics.
//
//   Reset(seed, obs)        -> writes the first observation, info in info()
//   Step(action, obs)       -> writes the next observation, returns reward/terminated/truncated
//
// Observations are written into caller-owned memory (observation_space().nbytes() bytes of
// observation_space().dtype()), so stepping allocates nothing. `terminated` and `truncated` are
// never merged.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlforge/core/bytes.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"

namespace rlforge::env {

// Outcome of one step.
struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // the MDP reached a terminal state
  bool truncated = false;   // cut off by a time limit or similar, not terminal
};

// Named scalar info values; slots are reused, so setting known keys does not allocate.
class Info {
 public:
  void Set(std::string_view key, double value);
  std::optional<double> Get(std::string_view key) const;
  void Clear();  // marks every slot absent, keeps the storage
  std::vector<std::pair<std::string, double>> Items() const;

 private:
  std::vector<std::string> keys_;  // slot names       (slots)
  std::vector<double> values_;     // slot values      (slots)
  std::vector<char> present_;      // slot set since the last Clear   (slots)
};

// An RGB image, row-major.
struct Image {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;  // pixels   (height x width x 3)
};

// A named physical quantity of an env's state, for episode dashboards and video overlays.
struct Signal {
  enum class Style { kLine, kSteps, kHeatmap };  // a curve, a 0/1 gait chart, a row of a heatmap
  std::string name;              // "hull/angle": the part before '/' names the chart it is drawn in
  std::string unit;              // "rad", "m/s", "" for none
  double low = NAN, high = NAN;  // limits drawn beside it (NaN: none)
  Style style = Style::kLine;
};

// Gymnasium's seeding: a new `np_random` from `seed`, or an OS-seeded one if none exists yet.
void SeedNpRandom(std::optional<uint64_t> seed, Rng& np_random, bool& seeded);

// Registration facts, as in Gymnasium's EnvSpec.
struct EnvSpec {
  std::string id;
  int max_episode_steps = 0;  // 0: no time limit
  std::optional<double> reward_threshold;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual const Space& observation_space() const = 0;
  virtual const Space& action_space() const = 0;

  // Resets; a seed re-creates the env's Rng (np_random) like Gymnasium's reset(seed=...).
  virtual void Reset(std::optional<uint64_t> seed, void* obs) = 0;
  // Steps; throws rlforge::Error for an action outside the space (wrong index, NaN, wrong shape).
  virtual StepResult Step(const Action& action, void* obs) = 0;

  // The current observation, computed from the current state (after SetState, say).
  virtual void Observe(void* obs) const = 0;
  virtual Image Render() const = 0;

  // Physics state (e.g. CartPole's [x, x_dot, theta, theta_dot]) for re-rendering and replay.
  // SetState also resets per-episode bookkeeping, as reset() would.
  virtual std::vector<double> GetState() const = 0;
  virtual void SetState(std::span<const double> state) = 0;

  // How closely a step after SetState reproduces the original env's step, relative to the
  // values' size: 0 means bit for bit. MuJoCo envs are close but not exact: their state is
  // (qpos, qvel) as in Gymnasium, and the simulator also keeps solver warm starts and the body
  // positions of the last integrator stage, which rewards and observations read. Infinity: the
  // env's steps draw from its RNG (LunarLander's engine dispersion), so they are not comparable.
  virtual double replay_tolerance() const { return 0.0; }

  virtual const Info& info() const { return info_; }
  virtual Info& mutable_info() { return info_; }
  const EnvSpec& spec() const { return spec_; }
  void set_spec(EnvSpec spec) { spec_ = std::move(spec); }

  // Everything needed to continue bit-exactly (state, RNG, bookkeeping) for checkpoints.
  virtual void SaveSnapshot(ByteWriter& out) const;
  virtual void LoadSnapshot(ByteReader& in);

  // The innermost env (not a wrapper).
  virtual Env* Unwrapped() { return this; }

  // Named quantities of the state in physical units (BipedalWalker's hull and joints, MuJoCo's
  // qpos and qvel by joint name): what they are, and their values after the last Reset or Step
  // written in that order (Signals().size() doubles). Envs without any return none.
  virtual std::vector<Signal> Signals() const { return {}; }
  virtual void SignalValues(double* out) const {}

 protected:
  // Gymnasium's seeding: a new Rng from `seed`, or an OS-seeded one if none exists yet.
  void SeedRng(std::optional<uint64_t> seed);
  // Validates an action and throws a clear Error naming the env.
  void CheckAction(const Action& action) const;

  Rng np_random_;  // the env's own random source
  bool seeded_ = false;
  Info info_;
  EnvSpec spec_;
};

// Base for envs whose observation is float32 and whose state is a fixed-size float64 vector.
class FloatEnv : public Env {
 public:
  void Reset(std::optional<uint64_t> seed, void* obs) final;
  StepResult Step(const Action& action, void* obs) final;
  void Observe(void* obs) const final { ObserveInto(static_cast<float*>(obs)); }

 protected:
  virtual void ResetState() = 0;                         // draw the initial state from np_random_
  virtual StepResult Advance(const Action& action) = 0;  // one step of the dynamics
  virtual void ObserveInto(float* obs) const = 0;
};

}  // namespace rlforge::env
