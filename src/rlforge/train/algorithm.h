// The contract between a run and what runs in it, as SB3's BaseAlgorithm + BaseCallback:
//
//   driver:  algo = Make(config);  callbacks.OnStart(ctx)
//            while ctx.global_step < algo.total_steps():
//              algo.Iterate(ctx)            <- collect (ctx.global_step += steps) and learn,
//                                              reporting episodes and metrics through ctx
//              callbacks.OnIteration(ctx)   <- progress, evaluation, checkpoints, stop requests
//            callbacks.OnEnd(ctx)
//
// An algorithm owns its envs, networks, buffers and loop; callbacks see only the Context and the
// Algorithm interface, never which algorithm runs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rlforge/io/safetensors.h"

namespace rlforge::env {
class Env;
}

namespace rlforge::train {

class Algorithm;
class Callback;

// A summary beyond a scalar, for TensorBoard: a histogram of values, an encoded image (PNG, or an
// animated GIF), or Markdown text.
struct Summary {
  enum class Kind { kHistogram, kImage, kText };
  Kind kind = Kind::kText;
  std::string tag;
  std::vector<float> values;  // histogram: the values       (n)
  std::string data;           // image: PNG/GIF bytes; text: Markdown
  int width = 0, height = 0;  // image size in pixels
};

// What an algorithm and the callbacks share while a run goes.
class Context {
 public:
  // counters the algorithm advances; saved with checkpoints
  int64_t global_step = 0;  // env steps over all envs so far
  int64_t iteration = 0;    // the algorithm's iterations so far (rollouts, vector steps)
  int64_t episodes = 0;     // training episodes finished so far

  // A scalar metric at global_step (CleanRL's names: charts/..., losses/...).
  void Log(const std::string& tag, double value);
  // A histogram, image or text summary at global_step (every callback's OnSummary sees it).
  void LogSummary(const Summary& summary);
  // A finished training episode: logs charts/episodic_return and _length, keeps the last 20.
  void EndEpisode(double episode_return, int64_t length);
  // Mean of the last 20 episode returns (0 when none yet), and whether there is any.
  double recent_mean_return() const;
  bool has_returns() const { return !recent_.empty(); }
  // Env steps per second since this process started training.
  double sps() const;
  double seconds() const;  // since this process started training

  // A callback asks the run to stop after this iteration (signal, --stop-after, a failure).
  void RequestStop(std::string why);
  bool stop_requested() const { return !stop_reason_.empty(); }
  const std::string& stop_reason() const { return stop_reason_; }
  // True once SIGINT or SIGTERM arrived: long waits inside an iteration (a human teacher) end.
  static bool Interrupted();
  static int InterruptSignal();  // which one (0: none)

  // The run's counters and recent returns in a checkpoint.
  void Save(io::TensorDict& out) const;
  void Load(const io::TensorDict& in);

  // Set by the driver.
  std::vector<Callback*> callbacks;
  int64_t start_step = 0;   // global_step when this process started
  double start_time = 0.0;  // monotonic seconds then
  std::string run_dir;

 private:
  std::deque<double> recent_;  // last 20 episode returns
  std::string stop_reason_;
};

// A single-agent evaluation env and how to act in it, for evaluation callbacks and `rlforge eval`.
struct EvalRequest {
  int episodes = 10;
  bool deterministic = true;
  uint64_t seed = 0;
  // Called with each env step's frame source (null: no recording): episode, step, reward, return.
  std::function<void(env::Env&, int episode, int64_t step, double reward, double ret)> on_step;
  // Called with each action chosen, before it is taken: its discrete and continuous parts.
  std::function<void(const std::vector<int64_t>& discrete, const std::vector<float>& continuous)>
      on_action;
  // Called with the agent's value estimate of the state it acts in: V(s), or Q(s, a) of the
  // chosen action (algorithms that have one).
  std::function<void(double value)> on_value;
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // Env steps the whole run takes (total_timesteps rounded to whole iterations).
  virtual int64_t total_steps() const = 0;
  // One iteration: collect (advancing ctx.global_step and ctx.iteration) and learn.
  virtual void Iterate(Context& ctx) = 0;
  // The returns of req.episodes episodes on a fresh env with the current policy (observation
  // normalization frozen at the training statistics).
  virtual std::vector<double> Evaluate(const EvalRequest& req) = 0;
  // Everything needed to continue exactly: networks (PyTorch names), optimizers, generators, env
  // states. Large state (a replay buffer) goes to SaveFiles(dir) before the checkpoint that
  // names dir is written; LoadFiles(dir) reads it back.
  virtual void Save(io::TensorDict& out) const = 0;
  virtual void Load(const io::TensorDict& in) = 0;
  virtual bool HasFiles() const { return false; }
  virtual void SaveFiles(const std::string& dir) const {}
  virtual void LoadFiles(const std::string& dir) {}
  // The policy's parameters as PyTorch would name them (what tests and users compare).
  virtual io::TensorDict Parameters() const = 0;
  // The gradients of the last update, named as Parameters() (none before the first update).
  virtual io::TensorDict Gradients() const { return {}; }
};

// Features around the loop. Each may keep state in checkpoints (Save/Load).
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void OnStart(Context& ctx, Algorithm& algo) {}
  virtual void OnIteration(Context& ctx, Algorithm& algo) {}
  virtual void OnEnd(Context& ctx, Algorithm& algo) {}
  virtual void OnMetric(int64_t step, const std::string& tag, double value) {}
  virtual void OnSummary(int64_t step, const Summary& summary) {}
  // A checkpoint was written to `path` (with its large state in `files_dir`, "" = none).
  virtual void OnCheckpoint(Context& ctx, const std::string& path, const std::string& files_dir) {}
  virtual void Save(io::TensorDict& out) const {}
  virtual void Load(const io::TensorDict& in) {}
};

}  // namespace rlforge::train
