// A run: its config, run directory, the loop driver and the callbacks around it (metrics,
// progress, evaluation with best model and videos, checkpoints, SIGINT/SIGTERM and --stop-after).
// Which algorithm runs is the registry's business (algos/registry.h); nothing here names one.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "rlforge/io/safetensors.h"
#include "rlforge/train/callbacks.h"
#include "rlforge/train/config.h"

namespace rlforge::train {

struct TrainResult {
  int64_t steps = 0;
  double seconds = 0.0;
  double last_mean_return = 0.0;  // mean of the last 20 episode returns
  bool has_returns = false;       // any episode finished
  bool interrupted = false;
  bool already_complete = false;  // --resume of a run that had finished: nothing was trained
};

// Trains into run_dir (created if needed). With resume, continues from
// run_dir/checkpoints/latest.safetensors and the config saved there. stop_after > 0: stop (with
// a checkpoint, resumable) once that many env steps are done. A run_dir that already holds a run
// is refused unless resuming, or with overwrite (which clears it first).
TrainResult Train(const TrainConfig& config, const std::string& run_dir, bool resume = false,
                  int64_t stop_after = 0, bool overwrite = false);

// Whether `dir` holds (part of) a run: config.yaml, metrics.csv or checkpoints/.
bool HoldsRun(const std::string& dir);

// The checkpoint file of a run dir: best.safetensors if present (when prefer_best), else latest.
std::string CheckpointPath(const std::string& run_or_checkpoint, bool prefer_best);
// The agent's parameters in a checkpoint file (PyTorch names), e.g. to compare runs.
io::TensorDict CheckpointParameters(const std::string& checkpoint);

// The algorithm of a checkpoint (a run dir: its latest), restored with its large state (a replay
// buffer) when the checkpoint kept it, and the run's config.
std::pair<TrainConfig, std::unique_ptr<Algorithm>> RestoreAlgorithm(
    const std::string& run_or_checkpoint);

// Mean and std of the return over episodes with a saved model (a run dir or a checkpoint file),
// optionally recorded.
std::pair<double, double> Evaluate(const std::string& run_or_checkpoint, int episodes,
                                   bool deterministic, uint64_t seed,
                                   const Recording* video = nullptr);

}  // namespace rlforge::train
