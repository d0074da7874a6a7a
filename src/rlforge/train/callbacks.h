// The features of a run, as callbacks around the loop (SB3's CallbackList): none of them knows
// which algorithm runs. The driver (trainer.cc) builds the list from the config.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rlforge/io/metrics.h"
#include "rlforge/train/algorithm.h"
#include "rlforge/train/config.h"

namespace rlforge::train {

// Where and how to record evaluation episodes as a video.
struct Recording {
  std::string path;      // .mp4 or .webm
  int episodes = 1;      // the first this many episodes
  bool overlay = false;  // episode, step, reward, return, value estimate and action in a box
  int fps = 30;
  std::vector<std::string> signals;  // env signals drawn in the box too (by Signal::name)
};

// Each name of `names` among the env's signals, or an Error naming `field` and listing them.
void CheckSignals(const std::vector<std::string>& names, const env::Env& env,
                  const std::string& field);

// `req` with an on_step that records the first rec.episodes episodes to rec.path (the writer
// lives in the returned closure, and the file is complete when that is destroyed or finished).
struct VideoRecorder {
  explicit VideoRecorder(const Recording& rec);
  ~VideoRecorder();
  void Attach(EvalRequest& req);
  // `f` sees each recorded frame before the overlay is drawn: (frame, episode, step).
  void OnFrame(std::function<void(const env::Image& frame, int episode, int64_t step)> f);
  void Close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Mean and (population) std of values.
std::pair<double, double> MeanStd(const std::vector<double>& v);

// Every scalar of a config (YAML) by key path ("sac.q_lr"); lists as text ("[256, 256]").
std::map<std::string, std::string> FlatConfig(const std::string& config_yaml);
// The hparams of a resolved config: its top-level scalars and the `env` and `sections`
// sections of FlatConfig, numbers and bools typed.
std::map<std::string, io::HParam> HParams(const std::string& config_yaml,
                                          const std::vector<std::string>& sections);

// metrics.csv and the TensorBoard file: every metric and summary the run logs. At the start the
// resolved config as Markdown text and the hparams session (a SessionLog START before them when
// resuming); at the end the session's end, SUCCESS, or RUNNING when stopped to be resumed.
class MetricsCallback : public Callback {
 public:
  // `sections`: the algorithm's config sections, for the hparams.
  MetricsCallback(const std::string& run_dir, std::string config_yaml,
                  std::vector<std::string> sections);
  void OnStart(Context& ctx, Algorithm& algo) override;
  void OnEnd(Context& ctx, Algorithm& algo) override;
  void OnMetric(int64_t step, const std::string& tag, double value) override {
    logger_.Log(step, tag, value);
  }
  void OnSummary(int64_t step, const Summary& summary) override;

 private:
  io::MetricsLogger logger_;
  std::string config_yaml_;
  std::vector<std::string> sections_;
};

// "[=====>     ] 12,288/500,000 (2%) | 45,123 SPS | ETA 0:11 | return 23.4" on stderr, redrawn
// in place on a terminal and a line per 10% otherwise.
class ProgressCallback : public Callback {
 public:
  explicit ProgressCallback(int64_t total) : total_(total) {}
  void OnIteration(Context& ctx, Algorithm& algo) override;
  void OnEnd(Context& ctx, Algorithm& algo) override;

 private:
  void Draw(const Context& ctx, bool final);
  int64_t total_;
  bool tty_;
  int last_percent_ = -100;
  double last_draw_ = -1.0;
};

// Evaluation every eval.every_steps: eval/episodic_return(_std), a video when asked, and
// best.safetensors when the mean return is the best so far.
class EvalCallback : public Callback {
 public:
  // save_best writes the best checkpoint.
  EvalCallback(const TrainConfig& config, std::function<void(Context&)> save_best);
  void OnIteration(Context& ctx, Algorithm& algo) override;
  void Save(io::TensorDict& out) const override;
  void Load(const io::TensorDict& in) override;

 private:
  const TrainConfig& config_;
  std::function<void(Context&)> save_best_;
  int64_t next_eval_;
  double best_ = -INFINITY;
};

// SIGINT/SIGTERM and --stop-after: ask the run to stop after the current iteration.
class StopCallback : public Callback {
 public:
  explicit StopCallback(int64_t stop_after) : stop_after_(stop_after) {}
  void OnIteration(Context& ctx, Algorithm& algo) override;

 private:
  int64_t stop_after_;
};

// latest.safetensors every checkpoint.every_steps, at a stop request and at the end.
class CheckpointCallback : public Callback {
 public:
  CheckpointCallback(int64_t every_steps, std::function<void(Context&)> save_latest);
  void OnIteration(Context& ctx, Algorithm& algo) override;
  void OnEnd(Context& ctx, Algorithm& algo) override;
  void Save(io::TensorDict& out) const override;
  void Load(const io::TensorDict& in) override;

 private:
  int64_t every_steps_;
  std::function<void(Context&)> save_latest_;
  int64_t next_;
  int64_t saved_at_ = -1;  // global_step of the last latest checkpoint
};

}  // namespace rlforge::train
