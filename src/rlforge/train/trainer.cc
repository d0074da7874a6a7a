#include "rlforge/train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "rlforge/core/error.h"
#include "rlforge/dist/comm.h"
#include "rlforge/train/cloud.h"
#include "rlforge/train/envs.h"
#include "rlforge/train/report.h"

namespace rlforge::train {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal.store(sig); }

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// SIGINT/SIGTERM set g_signal while a run goes; the previous handlers come back after.
class SignalScope {
 public:
  SignalScope()
      : old_int_(std::signal(SIGINT, OnSignal)), old_term_(std::signal(SIGTERM, OnSignal)) {
    g_signal.store(0);
  }
  ~SignalScope() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

constexpr const char* kConfigKey = "rlforge.config";
constexpr const char* kFilesKey = "rlforge.files";  // the folder beside it with large state
// a job of several ranks (dist/comm.h): how many, and the step their own files were written at
constexpr const char* kRanksKey = "rlforge.ranks";
constexpr const char* kRankStepKey = "rlforge.rank_step";

// Rank r's own checkpoint (its envs and generators; the shared state as every rank holds it)
// beside rank 0's latest.safetensors, which names the step last.
std::string RankCheckpoint(const std::string& ckpt_dir, int rank, const std::string& step) {
  return ckpt_dir + "/rank" + std::to_string(rank) + "_" + step + ".safetensors";
}

// A saved algorithm with its config, restored from a checkpoint file.
struct Restored {
  TrainConfig config;
  io::TensorDict checkpoint;
  std::unique_ptr<Algorithm> algo;
};

Restored Restore(const std::string& path, const std::string& run_dir, bool with_files) {
  Restored r;
  r.checkpoint = io::ReadSafetensors(path);
  r.config = LoadConfigText(r.checkpoint.Meta(kConfigKey), path);
  r.algo = algos::FindLoaded(r.config.algo).make(r.config, run_dir);
  r.algo->Load(r.checkpoint);
  const auto files = r.checkpoint.metadata().find(kFilesKey);
  if (with_files && files != r.checkpoint.metadata().end())
    r.algo->LoadFiles(fs::path(path).parent_path() / files->second);
  return r;
}

// Writes the algorithm, the counters and the callbacks' state to `path` atomically; with a
// `folder` name, the algorithm's large state first goes to that folder beside it, which the
// checkpoint names (so a crash between the two leaves the previous checkpoint and its folder
// intact).
void WriteCheckpoint(const std::string& path, const Context& ctx, const Algorithm& algo,
                     const std::string& config_yaml, const std::string& folder = "",
                     const std::map<std::string, std::string>& meta = {}) {
  io::TensorDict d;
  for (const auto& [key, value] : meta) d.metadata()[key] = value;
  algo.Save(d);
  ctx.Save(d);
  for (const Callback* cb : ctx.callbacks) cb->Save(d);
  d.metadata()[kConfigKey] = config_yaml;
  d.metadata()["format"] = "pt";  // PyTorch names and layouts, as Hugging Face's loader expects
  if (!folder.empty()) {
    algo.SaveFiles(fs::path(path).parent_path() / folder);
    d.metadata()[kFilesKey] = folder;
  }
  io::WriteSafetensors(path, d);
}

// Removes the folders and files in `dir` whose names start with `prefix`, except those in `keep`.
void RemoveOlder(const std::string& dir, const std::string& prefix,
                 std::initializer_list<std::string> keep) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (name.rfind(prefix, 0) == 0 && std::find(keep.begin(), keep.end(), name) == keep.end())
      fs::remove_all(entry.path());
  }
}

// The checkpoint of a job of several ranks, as two phases: every rank but 0 writes its own file
// for this step (and every rank its large state, with `files`, to rank<r>_<step>_files), then
// rank 0 writes latest.safetensors naming the step (so a crash in between leaves the previous
// latest and its rank files intact), then the older rank files go.
void WriteRankCheckpoints(const std::string& ckpt_dir, const Context& ctx, const Algorithm& algo,
                          const std::string& config_yaml, bool files) {
  const int rank = dist::Rank();
  const std::string step = std::to_string(ctx.global_step), mine = "rank" + std::to_string(rank);
  const std::string folder = files ? mine + "_" + step + "_files" : "";
  const std::string own = fs::path(RankCheckpoint(ckpt_dir, rank, step)).filename();
  if (rank > 0) WriteCheckpoint(ckpt_dir + "/" + own, ctx, algo, config_yaml, folder);
  dist::Barrier();
  if (rank == 0) {
    WriteCheckpoint(ckpt_dir + "/latest.safetensors", ctx, algo, config_yaml, folder,
                    {{kRanksKey, std::to_string(dist::Size())}, {kRankStepKey, step}});
  }
  dist::Barrier();
  RemoveOlder(ckpt_dir, mine + "_", {own, folder});
}

// This rank's checkpoint to resume from: latest.safetensors on rank 0, else the rank file it
// names; the job must have as many ranks as the one that wrote it.
std::string ResumePath(const std::string& latest) {
  const io::TensorDict head = io::ReadSafetensors(latest);
  const auto found = head.metadata().find(kRanksKey);
  const int written = found == head.metadata().end() ? 1 : std::stoi(found->second);
  if (written != dist::Size()) {
    throw Error(latest + ": written by a job of " + std::to_string(written) +
                " rank(s); resume it with " +
                (written == 1 ? std::string("one process (no mpirun)")
                              : "mpirun -np " + std::to_string(written)) +
                ", not " + std::to_string(dist::Size()));
  }
  if (dist::Rank() == 0) return latest;
  return RankCheckpoint(fs::path(latest).parent_path(), dist::Rank(), head.Meta(kRankStepKey));
}

// A hash of the policy's parameters, to check that every rank holds the same.
uint64_t ParameterHash(const Algorithm& algo) {
  uint64_t h = dist::Hash(nullptr, 0);
  const io::TensorDict parameters = algo.Parameters();
  for (const auto& [name, tensor] : parameters.tensors())
    h = dist::Hash(tensor.bytes.data(), tensor.bytes.size(),
                   dist::Hash(name.data(), name.size(), h));
  return h;
}

}  // namespace

// ---- Context --------------------------------------------------------------------------------

void Context::Log(const std::string& tag, double value) {
  for (Callback* cb : callbacks) cb->OnMetric(global_step, tag, value);
}

void Context::LogSummary(const Summary& summary) {
  for (Callback* cb : callbacks) cb->OnSummary(global_step, summary);
}

void Context::EndEpisode(double episode_return, int64_t length) {
  ++episodes;
  recent_.push_back(episode_return);
  if (recent_.size() > 20) recent_.pop_front();
  Log("charts/episodic_return", episode_return);
  Log("charts/episodic_length", static_cast<double>(length));
}

double Context::recent_mean_return() const {
  double mean = 0.0;
  for (double r : recent_) mean += r / static_cast<double>(recent_.size());
  return mean;
}

double Context::seconds() const { return Now() - start_time; }

double Context::sps() const {
  return static_cast<double>(global_step - start_step) / std::max(seconds(), 1e-9);
}

void Context::RequestStop(std::string why) {
  if (stop_reason_.empty()) stop_reason_ = std::move(why);
}

bool Context::Interrupted() { return g_signal.load() != 0; }
int Context::InterruptSignal() { return g_signal.load(); }

void Context::Save(io::TensorDict& out) const {
  out.Put("trainer.counters", std::vector<int64_t>{global_step, iteration, episodes});
  out.Put("trainer.recent_returns", std::vector<double>(recent_.begin(), recent_.end()));
}

void Context::Load(const io::TensorDict& in) {
  std::vector<int64_t> counters(3);
  in.Read("trainer.counters", counters);
  global_step = counters[0], iteration = counters[1], episodes = counters[2];
  const io::Tensor& recent = in.Get("trainer.recent_returns");
  if (recent.dtype != DType::kFloat64 || recent.numel() > 20)
    throw Error(in.source() + ": trainer.recent_returns: expected at most 20 F64 values");
  recent_.assign(recent.as<double>(), recent.as<double>() + recent.numel());
}

// ---- the run --------------------------------------------------------------------------------

bool HoldsRun(const std::string& dir) {
  std::error_code ec;
  for (const char* part : {"config.yaml", "metrics.csv", "checkpoints"}) {
    if (fs::exists(fs::path(dir) / part, ec)) return true;
  }
  return false;
}

TrainResult Train(const TrainConfig& config_in, const std::string& run_dir, bool resume,
                  int64_t stop_after, bool overwrite) {
  const int rank = dist::Rank();  // rank 0 writes the run's shared files (dist/comm.h)
  if (!resume && rank == 0 && HoldsRun(run_dir)) {
    if (!overwrite)
      throw Error(run_dir + ": already holds a run; continue it with --resume " + run_dir +
                  ", choose another --run-dir, or clear it with --overwrite");
    fs::remove_all(run_dir);
  }
  dist::Barrier();
  const std::string ckpt_dir = run_dir + "/checkpoints";
  const std::string latest = ckpt_dir + "/latest.safetensors";
  TrainConfig config = config_in;
  std::unique_ptr<Algorithm> algo;
  Context ctx;
  io::TensorDict checkpoint;
  if (resume) {
    if (!fs::exists(latest) && fs::exists(ckpt_dir + "/latest.pt"))
      throw Error(ckpt_dir +
                  "/latest.pt: a LibTorch checkpoint from an older rlforge; this "
                  "version reads .safetensors only (train again)");
    Restored r = Restore(ResumePath(latest), run_dir, /*with_files=*/true);
    config = r.config, algo = std::move(r.algo), checkpoint = std::move(r.checkpoint);
    ctx.Load(checkpoint);
  } else {
    algo = algos::FindLoaded(config.algo).make(config, run_dir);
  }
  if (dist::Distributed() && !algos::Find(config.algo).distributed) {
    std::string names;
    for (const algos::AlgorithmInfo& a : algos::Algorithms())
      if (a.distributed) names += (names.empty() ? "" : ", ") + a.name;
    throw Error("algo: " + config.algo + " runs in one process only; under mpirun -np " +
                std::to_string(dist::Size()) + " use one of: " + names);
  }
  dist::CheckSame(ParameterHash(*algo), "the policy's parameters");
  TrainResult result;
  const int64_t total = algo->total_steps();
  if (!resume && total != config.total_timesteps) {
    std::fprintf(stderr,
                 "note: total_timesteps %lld runs as %lld env steps (whole iterations of the "
                 "algorithm)\n",
                 static_cast<long long>(config.total_timesteps), static_cast<long long>(total));
  }
  if (resume && ctx.global_step >= total) {  // nothing to do: say so, touch nothing
    result.steps = ctx.global_step;
    result.already_complete = true;
    result.last_mean_return = ctx.recent_mean_return();
    result.has_returns = ctx.has_returns();
    return result;
  }
  if (!config.eval.video_overlay_signals.empty())  // a wrong name fails now, writing nothing
    CheckSignals(config.eval.video_overlay_signals, *MakeEnv(config.env, 0.99),
                 "eval.video_overlay_signals");
  std::unique_ptr<CloudCallback> cloud;  // checks the remote before anything is written
  if (!config.cloud.remote.empty() && rank == 0)
    cloud = std::make_unique<CloudCallback>(config.cloud, run_dir);
  fs::create_directories(ckpt_dir);
  const std::string config_yaml = ToYaml(config);
  if (rank == 0) WriteFileAtomic(run_dir + "/config.yaml", config_yaml);

  // the features around the loop, in the order they run after each iteration
  const bool files = algo->HasFiles();
  std::optional<MetricsCallback> metrics;  // opens the run's metric files: rank 0's
  if (rank == 0) metrics.emplace(run_dir, config_yaml, algos::Find(config.algo).sections);
  EvalCallback eval(config, [&](Context& c) {
    WriteCheckpoint(ckpt_dir + "/best.safetensors", c, *algo, config_yaml);
  });
  StopCallback stop(stop_after);
  CheckpointCallback checkpoints(config.checkpoint.every_steps, [&](Context& c) {
    if (dist::Distributed()) {
      WriteRankCheckpoints(ckpt_dir, c, *algo, config_yaml, files);
      if (rank == 0)
        for (Callback* cb : c.callbacks) cb->OnCheckpoint(c, latest, "");
      return;
    }
    const std::string folder = files ? "files_" + std::to_string(c.global_step) : "";
    WriteCheckpoint(latest, c, *algo, config_yaml, folder);
    if (files) RemoveOlder(ckpt_dir, "files_", {folder});
    for (Callback* cb : c.callbacks)
      cb->OnCheckpoint(c, latest, files ? ckpt_dir + "/" + folder : "");
  });
  ProgressCallback progress(total);
  ReportCallback report(run_dir);
  ctx.callbacks = {&stop, &checkpoints};  // every rank's; rank 0 also logs and writes for the job
  if (rank == 0) ctx.callbacks = {&*metrics, &eval, &stop, &checkpoints};
  if (rank == 0 && config.report) ctx.callbacks.push_back(&report);
  if (cloud) ctx.callbacks.push_back(cloud.get());
  if (rank == 0 && config.progress) ctx.callbacks.push_back(&progress);
  if (resume) {
    for (Callback* cb : ctx.callbacks) cb->Load(checkpoint);
  }
  ctx.run_dir = run_dir;
  ctx.start_step = ctx.global_step;
  ctx.start_time = Now();

  const SignalScope signals;
  for (Callback* cb : ctx.callbacks) cb->OnStart(ctx, *algo);
  while (ctx.global_step < total && !ctx.stop_requested()) {
    algo->Iterate(ctx);
    for (Callback* cb : ctx.callbacks) cb->OnIteration(ctx, *algo);
  }
  const double seconds = ctx.seconds();  // training, without the final writes and uploads
  dist::CheckSame(ParameterHash(*algo), "the policy's parameters at the end");
  for (Callback* cb : ctx.callbacks) cb->OnEnd(ctx, *algo);
  if (ctx.stop_requested()) {
    std::fprintf(stderr, "\nstopped %s at step %lld; checkpoint written: resume with --resume %s\n",
                 ctx.stop_reason().c_str(), static_cast<long long>(ctx.global_step),
                 run_dir.c_str());
  }
  result.steps = ctx.global_step;
  result.seconds = seconds;
  result.last_mean_return = ctx.recent_mean_return();
  result.has_returns = ctx.has_returns();
  result.interrupted = ctx.stop_requested();
  return result;
}

// ---- saved models ---------------------------------------------------------------------------

std::string CheckpointPath(const std::string& run_or_checkpoint, bool prefer_best) {
  if (!fs::is_directory(run_or_checkpoint)) return run_or_checkpoint;
  const std::string dir = run_or_checkpoint + "/checkpoints/";
  if (prefer_best && fs::exists(dir + "best.safetensors")) return dir + "best.safetensors";
  if (!fs::exists(dir + "latest.safetensors") && fs::exists(dir + "latest.pt"))
    throw Error(dir +
                "latest.pt: a LibTorch checkpoint from an older rlforge; this version "
                "reads .safetensors only");
  return dir + "latest.safetensors";
}

io::TensorDict CheckpointParameters(const std::string& checkpoint) {
  return Restore(checkpoint, "", false).algo->Parameters();
}

std::pair<TrainConfig, std::unique_ptr<Algorithm>> RestoreAlgorithm(
    const std::string& run_or_checkpoint) {
  Restored r = Restore(CheckpointPath(run_or_checkpoint, false), "", /*with_files=*/true);
  return {r.config, std::move(r.algo)};
}

std::pair<double, double> Evaluate(const std::string& run_or_checkpoint, int episodes,
                                   bool deterministic, uint64_t seed, const Recording* video) {
  if (episodes < 1) throw Error("--episodes: expected a positive integer");
  Restored r = Restore(CheckpointPath(run_or_checkpoint, true), "", false);
  if (video != nullptr && !video->signals.empty())  // before the video file is opened
    CheckSignals(video->signals, *MakeEnv(r.config.env, 0.99), "--overlay-signals");
  EvalRequest req{episodes, deterministic, seed, nullptr};
  std::optional<VideoRecorder> recorder;
  if (video != nullptr) recorder.emplace(*video).Attach(req);
  const auto result = MeanStd(r.algo->Evaluate(req));
  if (recorder) recorder->Close();
  return result;
}

}  // namespace rlforge::train
