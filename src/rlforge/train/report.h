// Run reports: one self-contained HTML page (Plotly's bundle inlined, no network) of a run's
// metrics.csv, its latest evaluation video and episode, or a comparison of several runs grouped
// by config across seeds (mean with a 95% bootstrap band, and rliable's interquartile mean).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "rlforge/train/algorithm.h"

namespace rlforge::train {

// A run as the report reads it from its folder.
struct RunRecord {
  std::string dir;                            // the run folder
  std::string name;                           // its last path component
  std::string config_yaml;                    // config.yaml, the resolved config
  std::map<std::string, std::string> config;  // its scalars by key path ("sac.q_lr")
  std::map<std::string, std::vector<std::pair<int64_t, double>>> metrics;  // tag -> (step, value)
  nlohmann::json episode;  // eval_episode.json: the latest evaluation's first episode, or null
  std::string video;       // the latest evaluation video (a path under dir), or ""
};

// Reads a run folder; an Error names the folder or file when it is no run (no config.yaml),
// has no metrics.csv, or a line of it does not parse.
RunRecord ReadRun(const std::string& dir);

// The page: one run's report, or several runs compared. `out` is where it will be written (its
// folder makes the video's path relative).
std::string ReportHtml(const std::vector<RunRecord>& runs, const std::string& out);

// Reads the runs and writes their report to `out` atomically.
void WriteReport(const std::vector<std::string>& run_dirs, const std::string& out);

// The final score of a run: its last evaluation mean return, else the mean of its last 10
// training episode returns; NaN when it has neither.
double FinalScore(const RunRecord& run);
// rliable's interquartile mean (scipy.stats.trim_mean(x, 0.25)) and its 95% percentile bootstrap
// interval over `reps` resamples of the values (deterministic for a seed).
struct Interval {
  double value, low, high;
};
Interval IqmWithBootstrap(const std::vector<double>& values, int reps = 2000, uint64_t seed = 0);

// RUN_DIR/report.html after each evaluation, at each checkpoint and at the end.
class ReportCallback : public Callback {
 public:
  explicit ReportCallback(std::string run_dir) : run_dir_(std::move(run_dir)) {}
  void OnMetric(int64_t step, const std::string& tag, double value) override;
  void OnIteration(Context& ctx, Algorithm& algo) override;
  void OnCheckpoint(Context& ctx, const std::string& path, const std::string& files_dir) override;
  void OnEnd(Context& ctx, Algorithm& algo) override;

 private:
  void Write();
  std::string run_dir_;
  bool evaluated_ = false;  // an evaluation logged since the last write
  bool warned_ = false;     // a failed write was reported
};

}  // namespace rlforge::train
