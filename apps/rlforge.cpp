// rlforge: the command-line interface.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "multi_agent_commands.h"
#include "rlforge/algos/registry.h"
#include "rlforge/cloud/pull.h"
#include "rlforge/cloud/rclone.h"
#include "rlforge/core/error.h"
#include "rlforge/core/library.h"
#include "rlforge/dist/comm.h"
#include "rlforge/env/checker.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/env/registry.h"
#include "rlforge/feedback/server.h"
#include "rlforge/io/golden.h"
#include "rlforge/io/image.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/nn/mlp.h"
#include "rlforge/train/report.h"
#include "rlforge/train/trainer.h"

namespace {

using rlforge::Action;
using rlforge::Error;
namespace env = rlforge::env;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int ListEnvs(bool as_json) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : env::RegisteredIds()) {
    const env::EnvEntry& entry = env::Lookup(id);
    auto e = env::Make(id);
    if (as_json) {
      nlohmann::json j = {{"id", id},
                          {"observation_space", e->observation_space().ToString()},
                          {"action_space", e->action_space().ToString()},
                          {"max_episode_steps", entry.spec.max_episode_steps}};
      j["reward_threshold"] =
          entry.spec.reward_threshold ? nlohmann::json(*entry.spec.reward_threshold) : nullptr;
      out.push_back(j);
    } else {
      std::printf(
          "%-26s %s\n  observation: %s\n  action:      %s\n  max_episode_steps: %d, "
          "reward_threshold: %s\n",
          id.c_str(), entry.description.c_str(), e->observation_space().ToString().c_str(),
          e->action_space().ToString().c_str(), entry.spec.max_episode_steps,
          entry.spec.reward_threshold
              ? rlforge::FormatNumber(*entry.spec.reward_threshold, rlforge::DType::kFloat64)
                    .c_str()
              : "none");
      for (const auto& k : entry.kwargs) {
        std::printf("  kwarg %s = %s: %s\n", k.name.c_str(),
                    env::KwValueToString(k.default_value).c_str(), k.description.c_str());
      }
    }
  }
  rlforge::cli::ListMultiAgentEnvs(as_json, out);
  if (as_json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int CheckCommand(const std::string& id, const env::Kwargs& kwargs) {
  if (env::IsMultiAgent(id)) return rlforge::cli::MultiAgentCheck(id, kwargs);
  env::Lookup(id);
  const auto report = env::CheckEnv([&] { return env::Make(id, kwargs); });
  for (const auto& p : report.passed) std::printf("  ok    %s\n", p.c_str());
  for (const auto& w : report.warnings) std::printf("  WARN  %s\n", w.c_str());
  for (const auto& f : report.failures) std::printf("  FAIL  %s\n", f.c_str());
  std::printf("%s: %zu passed, %zu failed, %zu warnings\n", id.c_str(), report.passed.size(),
              report.failures.size(), report.warnings.size());
  return report.ok() ? 0 : 1;
}

int RolloutCommand(const std::string& id, const env::Kwargs& kwargs, int episodes, uint64_t seed) {
  if (env::IsMultiAgent(id)) return rlforge::cli::MultiAgentRollout(id, kwargs, episodes, seed);
  if (episodes < 1)
    throw Error("--episodes: expected a positive integer, got " + std::to_string(episodes));
  auto e = env::Make(id, kwargs);
  const rlforge::Space& space = e->action_space();
  std::vector<uint8_t> obs(e->observation_space().nbytes());
  std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
  std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
  rlforge::Rng action_rng(seed);  // like env.action_space.seed(seed)
  std::vector<double> returns;
  std::vector<double> lengths;
  int64_t total_steps = 0;
  const auto start = Clock::now();
  std::printf("random policy on %s, %d episodes, seed %llu\n", id.c_str(), episodes,
              static_cast<unsigned long long>(seed));
  for (int ep = 0; ep < episodes; ++ep) {
    e->Reset(ep == 0 ? std::optional<uint64_t>(seed) : std::nullopt, obs.data());
    double ret = 0.0;
    int len = 0;
    while (true) {
      space.Sample(action_rng, disc, cont);
      const env::StepResult r = e->Step({disc, cont}, obs.data());
      ret += r.reward;
      ++len;
      if (r.terminated || r.truncated) {
        std::printf("  episode %3d  return %10.3f  length %5d  %s\n", ep, ret, len,
                    r.terminated ? "terminated" : "truncated");
        break;
      }
    }
    returns.push_back(ret);
    lengths.push_back(len);
    total_steps += len;
  }
  double mean = 0.0, var = 0.0;
  for (double r : returns) mean += r / static_cast<double>(returns.size());
  for (double r : returns) var += (r - mean) * (r - mean) / static_cast<double>(returns.size());
  double mean_len = 0.0;
  for (double l : lengths) mean_len += l / static_cast<double>(lengths.size());
  const double secs = Seconds(start);
  std::printf(
      "summary: %d episodes, %lld steps, return mean %.3f std %.3f min %.3f max %.3f, mean length "
      "%.1f, %.0f steps/s\n",
      episodes, static_cast<long long>(total_steps), mean, std::sqrt(var),
      *std::min_element(returns.begin(), returns.end()),
      *std::max_element(returns.begin(), returns.end()), mean_len,
      static_cast<double>(total_steps) / std::max(secs, 1e-9));
  return 0;
}

// The env's named signals (dashboards, eval.video_overlay_signals): name, unit, limits.
int SignalsCommand(const std::string& id, const env::Kwargs& kwargs) {
  if (env::IsMultiAgent(id)) {
    env::MakeMultiAgent(id, kwargs);
    std::printf("%s has no named signals (multi-agent envs report per-agent observations)\n",
                id.c_str());
    return 0;
  }
  auto e = env::Make(id, kwargs);
  const std::vector<env::Signal> signals = e->Unwrapped()->Signals();
  if (signals.empty())
    std::printf("%s has no named signals (reports show its observation)\n", id.c_str());
  for (const env::Signal& s : signals) {
    std::printf("%-28s %-8s", s.name.c_str(), s.unit.c_str());
    if (std::isfinite(s.low)) std::printf(" [%g, %g]", s.low, s.high);
    std::printf("\n");
  }
  return 0;
}

int RenderCommand(const std::string& id, const env::Kwargs& kwargs, uint64_t seed, int steps,
                  const std::string& out) {
  if (env::IsMultiAgent(id)) return rlforge::cli::MultiAgentRender(id, kwargs, seed, steps, out);
  if (steps < 0) throw Error("--steps: expected a non-negative integer");
  auto e = env::Make(id, kwargs);
  std::vector<uint8_t> obs(e->observation_space().nbytes());
  e->Reset(seed, obs.data());
  rlforge::Rng action_rng(seed);
  const rlforge::Space& space = e->action_space();
  std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
  std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
  for (int i = 0; i < steps; ++i) {
    space.Sample(action_rng, disc, cont);
    const env::StepResult r = e->Step({disc, cont}, obs.data());
    if (r.terminated || r.truncated) break;
  }
  const env::Image image = e->Render();
  rlforge::io::WritePng(image, out);
  std::printf("wrote %s (%dx%d)\n", out.c_str(), image.width, image.height);
  return 0;
}

// Steps per second of random-action stepping, resets included.
double BenchOnce(const std::string& id, const env::Kwargs& kwargs, int64_t steps, int num_envs,
                 int threads, uint64_t seed) {
  if (env::IsMultiAgent(id)) {
    if (threads != 1)
      throw Error("--threads: multi-agent envs step in one thread; got " + std::to_string(threads));
    return rlforge::cli::MultiAgentBenchOnce(id, kwargs, steps, num_envs, seed);
  }
  if (num_envs == 1 && threads == 1) {
    auto e = env::Make(id, kwargs);
    const rlforge::Space& space = e->action_space();
    std::vector<uint8_t> obs(e->observation_space().nbytes());
    std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
    std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
    rlforge::Rng rng(seed);
    e->Reset(seed, obs.data());
    const auto start = Clock::now();
    for (int64_t i = 0; i < steps; ++i) {
      space.Sample(rng, disc, cont);
      const env::StepResult r = e->Step({disc, cont}, obs.data());
      if (r.terminated || r.truncated) e->Reset(std::nullopt, obs.data());
    }
    return static_cast<double>(steps) / Seconds(start);
  }
  auto envs = env::MakeVector(id, num_envs, threads, kwargs);
  envs->Reset(seed);
  const int64_t batches = std::max<int64_t>(1, steps / num_envs);
  const auto start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) {
    envs->SampleActions();
    envs->Step();
  }
  return static_cast<double>(batches * num_envs) / Seconds(start);
}

int BenchCommand(const std::string& id, const env::Kwargs& kwargs, int64_t steps, int num_envs,
                 int threads, int repeat, bool as_json) {
  if (steps < 1) throw Error("--steps: expected a positive integer");
  if (num_envs < 1) throw Error("--num-envs: expected a positive integer");
  if (threads < 1) throw Error("--threads: expected a positive integer");
  if (repeat < 1) throw Error("--repeat: expected a positive integer");
  if (!env::IsMultiAgent(id)) env::Lookup(id);
  std::vector<double> runs;
  for (int r = 0; r < repeat; ++r)
    runs.push_back(BenchOnce(id, kwargs, steps, num_envs, threads, 0));
  const double sps = Median(runs);
  const int64_t done =
      num_envs == 1 && threads == 1 ? steps : std::max<int64_t>(1, steps / num_envs) * num_envs;
  if (as_json) {
    nlohmann::json j = {{"env_id", id},
                        {"num_envs", num_envs},
                        {"threads", threads},
                        {"steps", done},
                        {"seconds", static_cast<double>(done) / sps},
                        {"steps_per_second", sps},
                        {"repeat", repeat},
                        {"runs_steps_per_second", runs}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s: %lld steps, %d env(s), %d thread(s): %.0f steps/s (median of %d)\n",
                id.c_str(), static_cast<long long>(done), num_envs, threads, sps, repeat);
  }
  return 0;
}

std::string DefaultRunDir(const rlforge::train::TrainConfig& c) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + c.algo + "_" + c.env.id + "_s" + std::to_string(c.seed) + "_" + stamp;
}

// LibTorch's OpenMP threads spin while idle unless OMP_WAIT_POLICY=PASSIVE was set when the
// process started. With --threads > 1, an algorithm whose math runs in LibTorch (PEBBLE's reward
// model) restarts once with it set; the dense kernels' lanes run on rlforge's own ThreadPool.
// Whether `algo` runs in a LibTorch plugin (so that --threads also sets LibTorch's threads).
bool UsesLibTorch(const std::string& algo) {
  for (const auto& info : rlforge::algos::Algorithms()) {
    if (info.name == algo) return !info.plugin.empty();
  }
  return false;
}

void RestartForOpenMP(const std::string& algo, char** argv) {
  if (!UsesLibTorch(algo) || rlforge::nn::TrainingThreads() == 1 ||
      std::getenv("OMP_WAIT_POLICY") != nullptr) {
    return;
  }
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  throw Error("--threads: could not restart with OMP_WAIT_POLICY=PASSIVE");
}

// ", N threads" when training uses more than one, with LibTorch's OpenMP wait policy if it
// computes.
std::string ThreadsNote(const std::string& algo) {
  const int threads = rlforge::nn::TrainingThreads();
  if (threads == 1) return "";
  std::string note = ", " + std::to_string(threads) + " threads";
  if (UsesLibTorch(algo)) {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    note += std::string("; LibTorch's with OMP_WAIT_POLICY=") + (policy ? policy : "unset");
  }
  return note;
}

// `rlforge cloud pull REMOTE DIR` and `train --resume REMOTE`: the run's latest uploaded
// checkpoint and files, into a folder that holds no run (or one --overwrite clears).
int64_t PullRun(const std::string& remote, const std::string& dir, bool overwrite,
                const std::string& rclone_config) {
  if (rlforge::train::HoldsRun(dir)) {
    if (!overwrite)
      throw Error(dir + ": already holds a run; pull into another folder or add --overwrite");
    std::filesystem::remove_all(dir);
  }
  const int64_t step = rlforge::cloud::Pull(rlforge::cloud::Rclone(rclone_config), remote, dir);
  std::printf("pulled %s (checkpoint of step %lld) into %s\n", remote.c_str(),
              static_cast<long long>(step), dir.c_str());
  return step;
}

int CloudCheckCommand(const std::string& remote, const std::string& rclone_config) {
  const auto r = rlforge::cloud::Rclone(rclone_config).Check(remote, 60.0);
  if (!r.ok())
    throw Error(remote + ": not reachable or not writable (rclone exit " + std::to_string(r.code) +
                ": " + r.error + ")");
  std::printf("%s: reachable and writable\n", remote.c_str());
  return 0;
}

int TrainCommand(const std::string& config_file, std::vector<std::string> overrides,
                 const std::string& run_dir_arg, std::optional<int64_t> seed,
                 std::optional<std::string> resume_arg, int64_t stop_after, bool overwrite,
                 const std::string& rclone_config, char** argv) {
  if (stop_after < 0) throw Error("--stop-after: expected a non-negative number of steps");
  namespace train = rlforge::train;
  if (resume_arg && (!config_file.empty() || !overrides.empty() || seed))
    throw Error("--resume: the run's saved config is used; drop --config, --set and --seed");
  if (resume_arg && rlforge::cloud::IsRemote(*resume_arg) &&
      !std::filesystem::exists(*resume_arg)) {  // a run on a remote: pulled first, then resumed
    const std::string local =
        run_dir_arg.empty() ? "runs/" + rlforge::cloud::BaseName(*resume_arg) : run_dir_arg;
    PullRun(*resume_arg, local, overwrite, rclone_config);
    return TrainCommand("", {}, "", std::nullopt, local, stop_after, false, rclone_config, argv);
  }
  if (resume_arg) {
    const std::string& resume = *resume_arg;  // never empty: CLI11 refuses an empty value
    if (!run_dir_arg.empty())
      throw Error("--resume " + resume + " continues in that folder; drop --run-dir " +
                  run_dir_arg);
    if (overwrite) throw Error("--resume continues a run; --overwrite would clear it: drop one");
    std::string algo = "pebble";  // restart when the saved config cannot tell
    try {
      algo = train::LoadConfig(resume + "/config.yaml", {}).algo;
    } catch (const Error&) {
      // Train reports a broken run directory from its checkpoint
    }
    RestartForOpenMP(algo, argv);
    rlforge::dist::Init();
    const auto r = train::Train(train::TrainConfig{}, resume, /*resume=*/true, stop_after);
    if (rlforge::dist::Rank() > 0) return 0;
    const std::string mean =
        r.has_returns ? std::to_string(r.last_mean_return) : std::string("n/a (no episode ended)");
    if (r.already_complete) {
      std::printf(
          "%s: the run is complete at %lld steps; nothing to resume. last-20 mean return %s\n",
          resume.c_str(), static_cast<long long>(r.steps), mean.c_str());
    } else {
      std::printf("resumed %s: %lld steps, last-20 mean return %s%s\n", resume.c_str(),
                  static_cast<long long>(r.steps), mean.c_str(),
                  r.interrupted ? " (interrupted)" : "");
    }
    return 0;
  }
  if (seed) overrides.push_back("seed=" + std::to_string(*seed));
  const train::TrainConfig config = train::LoadConfig(config_file, overrides);
  RestartForOpenMP(config.algo, argv);
  rlforge::dist::Init();
  std::string run_dir = run_dir_arg.empty() ? DefaultRunDir(config) : run_dir_arg;
  rlforge::dist::Broadcast(run_dir);              // rank 0's (the default name holds the time)
  const bool speak = rlforge::dist::Rank() == 0;  // one rank of a job reports
  if (speak)
    std::printf("training %s on %s (seed %lld%s) -> %s\n", config.algo.c_str(),
                config.env.id.c_str(), static_cast<long long>(config.seed),
                ThreadsNote(config.algo).c_str(), run_dir.c_str());
  std::fflush(stdout);  // before the progress line on stderr
  const auto r = train::Train(config, run_dir, /*resume=*/false, stop_after, overwrite);
  if (!speak) return 0;
  std::printf("%s: %lld steps in %.1f s (%.0f SPS), last-20 mean return %.2f%s\n", run_dir.c_str(),
              static_cast<long long>(r.steps), r.seconds,
              static_cast<double>(r.steps) / std::max(r.seconds, 1e-9), r.last_mean_return,
              r.interrupted ? " (interrupted)" : "");
  return 0;
}

int ConfigShowCommand(const std::string& algo) {
  try {
    rlforge::algos::Find(algo);
  } catch (const Error& e) {
    throw Error(std::string("config show: ") + e.what());
  }
  // the algorithm's own defaults, env included: what `train --set algo=ALGO` runs
  rlforge::train::TrainConfig config = rlforge::train::LoadConfig("", {"algo=" + algo});
  rlforge::config::Describer d;
  config.Visit(d);
  for (const auto& l : d.lines) {
    std::printf("%-28s = %-14s %-12s %s\n", l.path.c_str(), l.value.c_str(), l.allowed.c_str(),
                l.description.c_str());
  }
  return 0;
}

int CheckpointShowCommand(const std::string& target, const std::string& values) {
  namespace io = rlforge::io;
  const std::string path = rlforge::train::CheckpointPath(target, /*prefer_best=*/false);
  const io::TensorDict d = io::ReadSafetensors(path);
  if (!values.empty()) {
    const io::Tensor& t = d.Get(values);
    for (int64_t i = 0; i < t.numel(); ++i) {
      switch (t.dtype) {
        case rlforge::DType::kFloat32:
          std::printf("%.9g\n", static_cast<double>(t.as<float>()[i]));
          break;
        case rlforge::DType::kFloat64:
          std::printf("%.17g\n", t.as<double>()[i]);
          break;
        case rlforge::DType::kInt64:
          std::printf("%lld\n", static_cast<long long>(t.as<int64_t>()[i]));
          break;
        case rlforge::DType::kInt32:
          std::printf("%d\n", t.as<int32_t>()[i]);
          break;
        default:
          std::printf("%d\n", static_cast<int>(t.as<uint8_t>()[i]));
          break;
      }
    }
    return 0;
  }
  std::printf("%s\n", path.c_str());
  for (const auto& [name, t] : d.tensors()) {
    std::string shape;
    for (const int64_t s : t.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
    std::printf("  %-32s %-4s [%s]\n", name.c_str(), io::SafetensorsDType(t.dtype), shape.c_str());
  }
  for (const auto& [key, value] : d.metadata())
    std::printf("  __metadata__.%s (%zu bytes)\n", key.c_str(), value.size());
  return 0;
}

int ReplayCommand(const std::vector<std::string>& files, const std::string& mode_text, double tol) {
  if (!(tol >= 0.0)) throw Error("--tol: expected a non-negative number");
  const auto mode = rlforge::io::ParseReplayMode(mode_text);
  int failed = 0, total = 0;
  for (const auto& file : files) {
    const auto reports = rlforge::io::ReplayGoldenFile(file, mode, tol);
    std::printf("%s (%s mode, tol %g)\n", file.c_str(), mode_text.c_str(), tol);
    for (size_t i = 0; i < reports.size(); ++i) {
      const auto& r = reports[i];
      ++total;
      failed += r.passed ? 0 : 1;
      std::printf(
          "  episode %zu %s seed %lld: %d/%d steps, max |d obs| %.3g, max |d state| %.3g, max |d "
          "reward| %.3g, "
          "flag mismatches %d: %s%s%s\n",
          i, r.env_id.c_str(), static_cast<long long>(r.reset_seed), r.replayed_steps,
          r.expected_length, r.max_obs_diff, r.max_state_diff, r.max_reward_diff, r.flag_mismatches,
          r.passed ? "OK" : "MISMATCH", r.first_problem.empty() ? "" : " (first: ",
          r.first_problem.empty() ? "" : (r.first_problem + ")").c_str());
    }
  }
  std::printf("replay: %d passed, %d failed\n", total - failed, failed);
  return failed == 0 ? 0 : 1;
}

// What a stopped run's labeling app shows: its step and budget from the latest checkpoint, the
// recent returns from metrics.csv (zeros when the run has no checkpoint yet).
rlforge::feedback::RunStatus StoppedRunStatus(const std::string& run_dir) {
  rlforge::feedback::RunStatus st;
  st.state = "stopped";
  const std::string ckpt = run_dir + "/checkpoints/latest.safetensors";
  if (!std::filesystem::exists(ckpt)) return st;
  const rlforge::io::TensorDict d = rlforge::io::ReadSafetensors(ckpt);
  const auto config = rlforge::train::LoadConfigText(d.Meta("rlforge.config"), ckpt);
  std::vector<int64_t> counters(3);
  d.Read("trainer.counters", counters);
  st.step = counters[0];
  st.total_steps = config.total_timesteps;
  st.max_feedback = config.pebble.max_feedback;
  if (d.Has("pebble.counters")) {
    const auto& pebble = d.Get("pebble.counters");  // queries asked first
    if (pebble.numel() > 0 && pebble.dtype == rlforge::DType::kInt64)
      st.queries_asked = pebble.as<int64_t>()[0];
  }
  std::ifstream csv(run_dir + "/metrics.csv");
  for (std::string line; std::getline(csv, line);) {
    const auto tag_at = line.find(",charts/episodic_");
    if (tag_at == std::string::npos) continue;
    const double value = std::atof(line.c_str() + line.rfind(',') + 1);
    if (line.compare(tag_at, 24, ",charts/episodic_return,") == 0) st.returns.push_back(value);
    if (line.compare(tag_at, 30, ",charts/episodic_model_return,") == 0)
      st.model_returns.push_back(value);
  }
  for (auto* v : {&st.returns, &st.model_returns}) {
    if (v->size() > 100) v->erase(v->begin(), v->end() - 100);
  }
  return st;
}

// Serves a stopped run's pending queries until SIGINT/SIGTERM.
int FeedbackServeCommand(const std::string& run_dir,
                         const rlforge::feedback::ServerConfig& config) {
  const std::string dir = run_dir + "/feedback";
  if (!std::filesystem::is_directory(dir))
    throw rlforge::Error("feedback serve: " + dir +
                         " does not exist (a run with pebble.teacher."
                         "preset: human makes it)");
  // SIGINT/SIGTERM wait for sigwait below, in this thread and the server's (it inherits the mask)
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  rlforge::feedback::FeedbackStore store(dir);
  rlforge::feedback::FeedbackServer server(store, config);
  server.SetStatus(StoppedRunStatus(run_dir));
  server.Start();
  std::printf("labeling app: %s\n%zu pairs pending; Ctrl-C stops\n", server.url().c_str(),
              store.Pending().size());
  if (!server.token().empty() && config.token.empty())
    std::printf("token (shown once): %s\n", server.token().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server.Stop();
  std::printf("stopped; %zu pairs answered, %zu pending\n", store.answered(),
              store.Pending().size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rlforge: native C++ deep reinforcement learning"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rlforge 0.1.0");

  bool envs_json = false;
  auto* envs_cmd = app.add_subcommand("envs", "list registered env ids with their spaces");
  envs_cmd->add_flag("--json", envs_json, "print JSON");

  auto* env_cmd = app.add_subcommand("env", "work with one environment");
  env_cmd->require_subcommand(1);
  std::string id;
  std::vector<std::string> kwarg_items;
  uint64_t seed = 0;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("ID", id, "env id, e.g. CartPole-v1 or simple_spread_v3")->required();
    cmd->add_option("--kwarg,-k", kwarg_items, "env kwarg key=value (repeatable)");
  };

  auto* check_cmd = env_cmd->add_subcommand("check", "run the env checker");
  add_common(check_cmd);

  int episodes = 5;
  auto* rollout_cmd =
      env_cmd->add_subcommand("rollout", "random-policy episodes: returns and lengths");
  add_common(rollout_cmd);
  rollout_cmd->add_option("--episodes", episodes, "number of episodes")->capture_default_str();
  rollout_cmd->add_option("--seed", seed, "reset and action seed")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);

  auto* signals_cmd =
      env_cmd->add_subcommand("signals", "the env's named signals (reports, video overlays)");
  add_common(signals_cmd);

  std::string out = "frame.png";
  int render_steps = 0;
  auto* render_cmd = env_cmd->add_subcommand("render", "write one rendered frame as PNG");
  add_common(render_cmd);
  render_cmd->add_option("--seed", seed, "reset seed")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  render_cmd->add_option("--steps", render_steps, "random steps before rendering")
      ->capture_default_str();
  render_cmd->add_option("--out", out, "PNG path")->capture_default_str();

  int64_t bench_steps = 1'000'000;
  int num_envs = 1, threads = 1, repeat = 1;
  bool bench_json = false;
  auto* bench_cmd = env_cmd->add_subcommand("bench", "random-action stepping throughput");
  add_common(bench_cmd);
  bench_cmd->add_option("--steps", bench_steps, "env steps per run (at most 1e12)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000'000}));
  bench_cmd->add_option("--num-envs", num_envs, "copies in a vector env")->capture_default_str();
  bench_cmd->add_option("--threads", threads, "vector env threads")->capture_default_str();
  bench_cmd->add_option("--repeat", repeat, "runs; the median is reported")->capture_default_str();
  bench_cmd->add_flag("--json", bench_json, "print one JSON object");

  std::vector<std::string> files;
  std::string mode = "replay";
  double tol = 0.0;
  auto* replay_cmd = env_cmd->add_subcommand("replay", "replay golden trajectories and compare");
  replay_cmd->add_option("FILE", files, "golden JSON file(s)")->required();
  replay_cmd->add_option("--mode", mode, "replay | one-step | from-seed")->capture_default_str();
  replay_cmd->add_option("--tol", tol, "relative tolerance; 0 = bit-exact")->capture_default_str();

  std::string config_file, run_dir, resume;
  std::vector<std::string> overrides;
  int64_t train_seed = 0;
  auto* train_cmd = app.add_subcommand("train", "train an agent (default: PPO on CartPole-v1)");
  train_cmd->add_option("--config", config_file, "YAML config (see configs/)");
  train_cmd->add_option("--set", overrides, "override a knob: key.path=value (repeatable)");
  train_cmd->add_option("--run-dir", run_dir,
                        "run directory (default: runs/<algo>_<env>_s<seed>_<time>)");
  auto* seed_opt = train_cmd->add_option("--seed", train_seed, "seed for every RNG");
  auto* resume_opt = train_cmd->add_option(
      "--resume", resume,
      "continue the run in this directory (or on this rclone remote: pulled into --run-dir, "
      "default runs/<name>) from its latest checkpoint");
  std::string rclone_config;
  train_cmd->add_option("--rclone-config", rclone_config,
                        "rclone.conf for --resume REMOTE:PATH (the run's cloud.rclone_config "
                        "is used after)");
  bool overwrite = false;
  train_cmd->add_flag("--overwrite", overwrite,
                      "clear a --run-dir that already holds a run before training into it");
  int64_t stop_after = 0;
  int train_threads = 1;
  train_cmd
      ->add_option("--threads", train_threads,
                   "compute threads (results may differ in the last bits)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  train_cmd->add_option("--stop-after", stop_after,
                        "stop with a checkpoint after this many env steps (resumable)");
  double rank_timeout = 600.0;
  train_cmd
      ->add_option("--rank-timeout", rank_timeout,
                   "under mpirun: seconds to wait for the other ranks before stopping the job")
      ->capture_default_str();

  std::string eval_target;
  int eval_episodes = 10;
  bool eval_deterministic = false;
  auto* eval_cmd =
      app.add_subcommand("eval", "evaluate a saved agent (run dir or checkpoint file)");
  eval_cmd->add_option("RUN", eval_target, "run directory or checkpoint .safetensors")->required();
  eval_cmd->add_option("--episodes", eval_episodes, "episodes")->capture_default_str();
  eval_cmd->add_flag("--deterministic", eval_deterministic, "greedy / mean actions");
  eval_cmd->add_option("--seed", seed, "reset seed of the first episode")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  std::string eval_video;
  bool eval_overlay = false;
  int eval_fps = 30, eval_video_episodes = 1;
  eval_cmd->add_option("--video", eval_video,
                       "record episodes to this .mp4 (H.264) or .webm (VP9)");
  eval_cmd->add_flag("--overlay", eval_overlay,
                     "draw episode, step, reward, return, value and action on the video");
  std::vector<std::string> eval_signals;
  eval_cmd->add_option("--overlay-signals", eval_signals,
                       "env signals drawn too, e.g. velocity/vx (`rlforge env signals ID`)");
  eval_cmd->add_option("--fps", eval_fps, "video frame rate")
      ->capture_default_str()
      ->check(CLI::Range(1, 240));
  eval_cmd->add_option("--video-episodes", eval_video_episodes, "episodes to record")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  std::vector<std::string> report_runs;
  std::string report_out;
  auto* report_cmd = app.add_subcommand(
      "report", "an HTML report of a run, or of several compared (mean, bootstrap band, IQM)");
  report_cmd
      ->add_option("RUN_DIR", report_runs, "run folders (one: its report; several: a comparison)")
      ->required();
  report_cmd->add_option(
      "--out", report_out,
      "the HTML file (default RUN_DIR/report.html for one run, report.html for several)");

  auto* dreamer_cmd = app.add_subcommand("dreamer", "DreamerV3 tools");
  dreamer_cmd->require_subcommand(1);
  std::string openloop_run, openloop_out;
  int64_t openloop_sequences = 0;
  auto* openloop_cmd = dreamer_cmd->add_subcommand(
      "openloop",
      "observe the first half of replayed sequences, imagine the rest from the recorded actions: "
      "truth / prediction / error (a video for images, a PNG plot for vectors)");
  openloop_cmd
      ->add_option("RUN_DIR", openloop_run,
                   "a dreamer run (its latest checkpoint, which "
                   "must keep the replay buffer)")
      ->required();
  openloop_cmd
      ->add_option("--out", openloop_out,
                   "images: FILE.mp4 or .webm (every step), FILE.png (the last observed and the "
                   "last imagined frame); vectors: FILE.png (a plot)")
      ->required();
  openloop_cmd
      ->add_option("--sequences", openloop_sequences,
                   "replayed sequences the errors average over (default: the run's "
                   "dreamer.openloop_error_sequences)")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));

  auto* config_cmd = app.add_subcommand("config", "configuration");
  config_cmd->require_subcommand(1);
  std::string show_algo;
  auto* show_cmd =
      config_cmd->add_subcommand("show", "print every knob with its default and description");
  show_cmd->add_option("ALGO", show_algo, "ppo, a2c, dqn, sac or pebble")->required();

  auto* checkpoint_cmd = app.add_subcommand("checkpoint", "saved checkpoints (.safetensors)");
  checkpoint_cmd->require_subcommand(1);
  std::string ckpt_target, ckpt_values;
  auto* ckpt_show_cmd = checkpoint_cmd->add_subcommand(
      "show", "list a checkpoint's tensors (name, dtype, shape) and metadata keys");
  ckpt_show_cmd->add_option("CKPT", ckpt_target, "checkpoint file, or a run dir (its latest)")
      ->required();
  ckpt_show_cmd->add_option("--values", ckpt_values, "print this tensor's values, one a line");

  auto* cloud_cmd = app.add_subcommand("cloud", "copies of runs on an rclone remote");
  cloud_cmd->require_subcommand(1);
  std::string cloud_remote, cloud_dir;
  bool cloud_overwrite = false;
  auto* cloud_check_cmd =
      cloud_cmd->add_subcommand("check", "whether REMOTE:PATH is reachable and writable");
  cloud_check_cmd->add_option("REMOTE", cloud_remote, "rclone remote:path")->required();
  cloud_check_cmd->add_option("--rclone-config", rclone_config, "rclone.conf path");
  auto* cloud_pull_cmd = cloud_cmd->add_subcommand(
      "pull", "download a run's latest uploaded checkpoint and files (then train --resume DIR)");
  cloud_pull_cmd->add_option("REMOTE", cloud_remote, "rclone remote:path of the run")->required();
  cloud_pull_cmd->add_option("DIR", cloud_dir, "local folder (default runs/<name>)");
  cloud_pull_cmd->add_option("--rclone-config", rclone_config, "rclone.conf path");
  cloud_pull_cmd->add_flag("--overwrite", cloud_overwrite, "clear DIR if it holds a run");

  auto* feedback_cmd = app.add_subcommand("feedback", "human preference feedback");
  feedback_cmd->require_subcommand(1);
  std::string feedback_run;
  rlforge::feedback::ServerConfig serve_config;
  auto* serve_cmd = feedback_cmd->add_subcommand(
      "serve", "serve a stopped run's pending queries in the labeling app");
  serve_cmd->add_option("RUN_DIR", feedback_run, "run directory")->required();
  serve_cmd->add_option("--host", serve_config.host, "bind address (off loopback: token)")
      ->capture_default_str();
  serve_cmd->add_option("--port", serve_config.port, "port, 0 = any free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--token", serve_config.token, "access token (generated off loopback)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // one `error:` line, as for every other bad input
    const auto known = [&](const std::string& name) {
      return !app.get_subcommands([&](CLI::App* c) { return c->check_name(name); }).empty();
    };
    if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
      std::fprintf(stderr, "error: unknown command '%s' (rlforge --help lists the commands)\n",
                   argv[1]);
      return 2;
    }
    std::fprintf(stderr, "error: %s (rlforge --help lists the commands and options)\n", e.what());
    return 2;
  }

  try {
    if (envs_cmd->parsed()) return ListEnvs(envs_json);
    if (cloud_check_cmd->parsed()) return CloudCheckCommand(cloud_remote, rclone_config);
    if (cloud_pull_cmd->parsed()) {
      PullRun(cloud_remote,
              cloud_dir.empty() ? "runs/" + rlforge::cloud::BaseName(cloud_remote) : cloud_dir,
              cloud_overwrite, rclone_config);
      return 0;
    }
    if (serve_cmd->parsed()) return FeedbackServeCommand(feedback_run, serve_config);
    if (openloop_cmd->parsed()) {
      rlforge::algos::LoadPlugin("dreamer");
      using OpenLoopFn = void (*)(const std::string&, const std::string&, int64_t, double[2]);
      const auto openloop = reinterpret_cast<OpenLoopFn>(rlforge::LibrarySymbol(
          rlforge::OpenLibrary("dreamer", "DreamerV3"), "dreamer", "rlforge_dreamer_openloop"));
      double mse[2];
      openloop(openloop_run, openloop_out, openloop_sequences, mse);
      std::printf("wrote %s\nopenloop/mse %.9g\nopenloop/repeat_last_mse %.9g\n",
                  openloop_out.c_str(), mse[0], mse[1]);
      return 0;
    }
    if (report_cmd->parsed()) {
      if (report_out.empty())
        report_out = report_runs.size() == 1 ? report_runs[0] + "/report.html" : "report.html";
      rlforge::train::WriteReport(report_runs, report_out);
      std::printf("wrote %s\n", report_out.c_str());
      return 0;
    }
    if (train_cmd->parsed()) {
      rlforge::nn::SetTrainingThreads(train_threads);
      rlforge::dist::SetTimeout(rank_timeout);
      return TrainCommand(config_file, overrides, run_dir,
                          seed_opt->count() ? std::optional<int64_t>(train_seed) : std::nullopt,
                          resume_opt->count() ? std::optional<std::string>(resume) : std::nullopt,
                          stop_after, overwrite, rclone_config, argv);
    }
    if (eval_cmd->parsed()) {
      const rlforge::train::Recording recording{eval_video, eval_video_episodes, eval_overlay,
                                                eval_fps, eval_signals};
      const auto [mean, std] =
          rlforge::train::Evaluate(eval_target, eval_episodes, eval_deterministic, seed,
                                   eval_video.empty() ? nullptr : &recording);
      std::printf("%s: mean return %.3f, std %.3f over %d episodes\n", eval_target.c_str(), mean,
                  std, eval_episodes);
      if (!eval_video.empty()) std::printf("wrote %s\n", eval_video.c_str());
      return 0;
    }
    if (show_cmd->parsed()) return ConfigShowCommand(show_algo);
    if (ckpt_show_cmd->parsed()) return CheckpointShowCommand(ckpt_target, ckpt_values);
    const env::Kwargs kwargs = env::ParseKwargs(kwarg_items);
    if (check_cmd->parsed()) return CheckCommand(id, kwargs);
    if (signals_cmd->parsed()) return SignalsCommand(id, kwargs);
    if (rollout_cmd->parsed()) return RolloutCommand(id, kwargs, episodes, seed);
    if (render_cmd->parsed()) return RenderCommand(id, kwargs, seed, render_steps, out);
    if (bench_cmd->parsed())
      return BenchCommand(id, kwargs, bench_steps, num_envs, threads, repeat, bench_json);
    if (replay_cmd->parsed()) return ReplayCommand(files, mode, tol);
  } catch (const Error& e) {
    // a rank of a job stops the others too (they may wait for it in a collective)
    if (rlforge::dist::Distributed()) rlforge::dist::Abort(std::string("error: ") + e.what());
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
