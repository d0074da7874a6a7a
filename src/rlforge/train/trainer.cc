#include "rlforge/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "rlforge/algos/dqn/dqn.h"
#include "rlforge/algos/sac/sac.h"
#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/buffers/rollout_buffer.h"
#include "rlforge/core/bytes.h"
#include "rlforge/env/registry.h"
#include "rlforge/env/tensor_view.h"
#include "rlforge/env/wrappers.h"
#include "rlforge/io/metrics.h"
#include "rlforge/io/video.h"
#include "rlforge/nn/archive.h"
#include "rlforge/nn/mlp.h"

namespace rlforge::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal.store(sig); }

// SIGINT/SIGTERM set g_signal while a loop runs; the previous handlers come back after.
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

// env kwargs from config text: true/false, integers, numbers, else strings
env::Kwargs ToKwargs(const std::map<std::string, std::string>& text) {
  std::vector<std::string> items;
  for (const auto& [k, v] : text) items.push_back(k + "=" + v);
  return env::ParseKwargs(items);
}

std::unique_ptr<env::Env> MakeEnv(const EnvConfig& c, double gamma) {
  auto e = env::Make(c.id, ToKwargs(c.kwargs));
  e = std::make_unique<env::RecordEpisodeStatistics>(
      std::move(e));  // true returns, under normalization
  if (c.clip_action && e->action_space().kind() == Space::Kind::kBox) {
    e = std::make_unique<env::ClipAction>(std::move(e));
  }
  if (c.normalize_observation)
    e = std::make_unique<env::NormalizeObservation>(std::move(e), 1e-8, c.clip_observation);
  if (c.normalize_reward)
    e = std::make_unique<env::NormalizeReward>(std::move(e), gamma, 1e-8, c.clip_reward);
  return e;
}

std::unique_ptr<env::VectorEnv> MakeVectorEnv(const EnvConfig& c, double gamma) {
  std::vector<std::unique_ptr<env::Env>> envs;
  for (int i = 0; i < c.num_envs; ++i) envs.push_back(MakeEnv(c, gamma));
  return std::make_unique<env::VectorEnv>(std::move(envs), c.threads);
}

// "[=====>     ] 12,288/500,000 (2%) | 45,123 SPS | ETA 0:11 | return 23.4"
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0) {}
  void Update(int64_t done, int64_t total, double sps, double mean_return, bool has_return,
              bool final = false) {
    if (!enabled_) return;
    const int percent = static_cast<int>(100 * done / std::max<int64_t>(total, 1));
    if (!tty_ && !final && percent < last_percent_ + 10) return;  // a line per 10% in logs
    if (!tty_ && final && percent == last_percent_) return;       // already printed
    last_percent_ = percent;
    const int width = 24, filled = width * percent / 100;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
    const double eta = sps > 0 ? static_cast<double>(total - done) / sps : 0.0;
    char ret[64] = "";
    if (has_return) std::snprintf(ret, sizeof(ret), " | return %.1f", mean_return);
    std::fprintf(stderr, "%s[%s] %lld/%lld (%d%%) | %.0f SPS | ETA %d:%02d%s%s", tty_ ? "\r" : "",
                 bar.c_str(), static_cast<long long>(done), static_cast<long long>(total), percent,
                 sps, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, ret,
                 tty_ && !final ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  int last_percent_ = -100;
};

// Runs deterministic (or sampled) episodes on a fresh env; returns the episode returns.
std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::vector<double> RunEpisodes(algos::Agent& agent, const EnvConfig& env_config,
                                const std::vector<double>* obs_stats, int episodes,
                                bool deterministic, uint64_t seed,
                                const Recording* video = nullptr) {
  EnvConfig c = env_config;
  c.normalize_reward = false;  // evaluation reports the true return
  auto e = MakeEnv(c, 0.99);
  if (auto* norm = env::FindWrapper<env::NormalizeObservation>(e.get());
      norm != nullptr && obs_stats != nullptr) {
    // evaluation uses the training statistics, frozen
    const size_t d = norm->stats().mean.size();
    norm->stats().mean.assign(obs_stats->begin(), obs_stats->begin() + static_cast<ptrdiff_t>(d));
    norm->stats().var.assign(obs_stats->begin() + static_cast<ptrdiff_t>(d), obs_stats->end() - 1);
    norm->stats().count = obs_stats->back();
    norm->update_stats = false;
  }
  const Space& space = e->action_space();
  std::vector<float> obs(static_cast<size_t>(e->observation_space().size()));
  std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
  std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
  std::vector<double> returns;
  std::unique_ptr<io::VideoWriter> writer;
  const auto record = [&](int ep, int64_t step, double reward, double ret) {
    if (video == nullptr || ep >= video->episodes) return;
    env::Image frame = e->Render();
    if (!writer)
      writer =
          std::make_unique<io::VideoWriter>(video->path, frame.width, frame.height, video->fps);
    if (video->overlay) {
      io::DrawOverlay(frame, {{"episode", std::to_string(ep + 1)},
                              {"step   ", std::to_string(step)},
                              {"reward ", Fixed(reward, 3)},
                              {"return ", Fixed(ret, 2)}});
    }
    writer->Write(frame);
  };
  for (int ep = 0; ep < episodes; ++ep) {
    e->Reset(ep == 0 ? std::optional<uint64_t>(seed) : std::nullopt, obs.data());
    double ret = 0.0;
    record(ep, 0, 0.0, 0.0);
    for (int64_t step = 1;; ++step) {
      const torch::Tensor t =
          torch::from_blob(obs.data(), {1, static_cast<int64_t>(obs.size())}, torch::kFloat32);
      agent.Act(t, disc.data(), cont.data(), deterministic);
      const env::StepResult r = e->Step({disc, cont}, obs.data());
      ret += r.reward;
      record(ep, step, r.reward, ret);
      if (r.terminated || r.truncated) break;
    }
    returns.push_back(ret);
  }
  if (writer) writer->Close();
  return returns;
}

std::pair<double, double> MeanStd(const std::vector<double>& v) {
  double mean = 0, var = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
  return {mean, std::sqrt(var)};
}

// Observation statistics of env 0 (mean, var, count) for evaluation envs.
std::vector<double> ObsStats(env::VectorEnv& envs) {
  auto* norm = env::FindWrapper<env::NormalizeObservation>(&envs.env(0));
  if (norm == nullptr) return {};
  std::vector<double> s = norm->stats().mean;
  s.insert(s.end(), norm->stats().var.begin(), norm->stats().var.end());
  s.push_back(norm->stats().count);
  return s;
}

// Everything a run needs to continue exactly where it stopped.
struct Counters {
  int64_t iteration = 0, global_step = 0, next_eval = 0, next_checkpoint = 0, episodes = 0;
  double best_eval = -INFINITY;
};

void FsyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void SaveCheckpoint(const std::string& path, const algos::Agent& agent, const env::VectorEnv& envs,
                    const Counters& c, const std::deque<double>& recent,
                    const std::string& config_yaml) {
  torch::serialize::OutputArchive archive;
  agent.Save(archive);
  ByteWriter state;
  state.Put(c);
  state.PutVector(std::vector<double>(recent.begin(), recent.end()));
  envs.SaveSnapshot(state);
  nn::WriteText(archive, "trainer_state", state.bytes());
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
  nn::WriteText(archive, "config_yaml", config_yaml);
  // temp file, fsync, rename: a crash mid-save leaves the previous checkpoint as it was
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  archive.save_to(tmp);
  FsyncFile(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write checkpoint: " + ec.message());
}

// Opens a checkpoint archive; a corrupt or truncated file is a clear error.
torch::serialize::InputArchive OpenCheckpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such checkpoint");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable rlforge checkpoint (corrupt or truncated)");
  }
  return archive;
}

std::string CheckpointConfigYaml(torch::serialize::InputArchive& archive, const std::string& path) {
  try {
    return nn::ReadText(archive, "config_yaml");
  } catch (const std::exception&) {
    throw Error(path + ": checkpoint has no config (not an rlforge checkpoint)");
  }
}

void LoadCheckpoint(const std::string& path, algos::Agent& agent, env::VectorEnv& envs, Counters& c,
                    std::deque<double>& recent) {
  torch::serialize::InputArchive archive = OpenCheckpoint(path);
  try {
    agent.Load(archive);
    torch::Tensor rng;
    archive.read("torch_rng", rng, true);
    const std::string bytes = nn::ReadText(archive, "trainer_state");
    ByteReader in(bytes, path);
    c = in.Get<Counters>();
    const auto r = in.GetVector<double>();
    recent.assign(r.begin(), r.end());
    envs.LoadSnapshot(in);
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint does not match this config or is corrupt (" +
                std::string(e.what()).substr(0, 200) + ")");
  }
}

// Fills in steps and seconds and prints the final progress line (unless the run was interrupted).
void FinishRun(TrainResult& result, const Counters& c, Clock::time_point start, int64_t start_step,
               int64_t total, ProgressLine& progress, bool has_return) {
  result.steps = c.global_step;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!result.interrupted) {
    progress.Update(c.global_step, total,
                    static_cast<double>(c.global_step - start_step) / result.seconds,
                    result.last_mean_return, has_return, /*final=*/true);
  }
}

// The layers every training loop runs after an iteration: evaluation with best-model keeping,
// periodic and final checkpoints, and stopping on SIGINT/SIGTERM or --stop-after. True = stop.
bool EndIteration(const TrainConfig& config, const std::string& run_dir, int64_t stop_after,
                  io::MetricsLogger& metrics, algos::Agent& agent, env::VectorEnv& envs,
                  Counters& c, bool done, const std::function<void(const std::string&)>& save) {
  const std::string ckpt_dir = run_dir + "/checkpoints";
  if (config.eval.every_steps > 0 && c.global_step >= c.next_eval) {
    c.next_eval += config.eval.every_steps;
    const std::vector<double> stats = ObsStats(envs);  // frozen training statistics
    std::optional<Recording> video;
    if (config.eval.video) {
      fs::create_directories(run_dir + "/videos");
      video = Recording{run_dir + "/videos/step_" + std::to_string(c.global_step) + "." +
                            config.eval.video_format,
                        1, config.eval.video_overlay, config.eval.video_fps};
    }
    const auto [mean, std] = MeanStd(
        RunEpisodes(agent, config.env, stats.empty() ? nullptr : &stats, config.eval.episodes,
                    config.eval.deterministic, static_cast<uint64_t>(config.seed) + 100000,
                    video ? &*video : nullptr));
    metrics.Log(c.global_step, "eval/episodic_return", mean);
    metrics.Log(c.global_step, "eval/episodic_return_std", std);
    if (mean > c.best_eval) {
      c.best_eval = mean;
      save(ckpt_dir + "/best.pt");
    }
  }
  const bool interrupted = g_signal.load() != 0 || (stop_after > 0 && c.global_step >= stop_after);
  if (config.checkpoint.every_steps > 0 && c.global_step >= c.next_checkpoint) {
    c.next_checkpoint += config.checkpoint.every_steps;
    save(ckpt_dir + "/latest.pt");
  } else if (interrupted || done) {
    save(ckpt_dir + "/latest.pt");
  }
  if (interrupted) {
    const std::string why =
        g_signal.load() != 0 ? "by signal " + std::to_string(g_signal.load()) : "as asked";
    std::fprintf(stderr, "\nstopped %s at step %lld; checkpoint written: resume with --resume %s\n",
                 why.c_str(), static_cast<long long>(c.global_step), run_dir.c_str());
  }
  return interrupted;
}

double GammaOf(const TrainConfig& c) {
  if (c.algo == "dqn") return c.dqn.gamma;
  if (c.algo == "sac" || c.algo == "pebble") return c.sac.gamma;
  return c.ppo.gamma;
}

std::unique_ptr<algos::Agent> MakeAgent(const TrainConfig& c, const Space& obs_space,
                                        const Space& act_space, const std::string& run_dir = "") {
  if (c.algo == "dqn") {
    return std::make_unique<algos::Dqn>(c.dqn, obs_space, act_space, static_cast<uint64_t>(c.seed));
  }
  if (c.algo == "sac") {
    return std::make_unique<algos::Sac>(c.sac, obs_space, act_space, static_cast<uint64_t>(c.seed));
  }
  if (c.algo == "pebble") {
    std::unique_ptr<algos::pebble::Teacher> teacher;  // null: the scripted one
    if (c.pebble.teacher.preset == "human") {
      teacher = std::make_unique<algos::pebble::HumanTeacher>(
          c.pebble.human, env::Make(c.env.id, ToKwargs(c.env.kwargs)), run_dir,
          [] { return g_signal.load() != 0; });
    }
    return std::make_unique<algos::pebble::Pebble>(c.pebble, c.sac, obs_space, act_space,
                                                   c.env.num_envs, static_cast<uint64_t>(c.seed),
                                                   std::move(teacher));
  }
  return std::make_unique<algos::Ppo>(c.ppo, obs_space, act_space);
}

// Off-policy loop (CleanRL dqn.py / sac_continuous_action.py): collect one step per env, store
// it with the true next observation, learn from replay. Updates wait until the buffer holds
// learning_starts transitions, which only matters for a run resumed without its saved buffer:
// it refills that many with its current policy before learning again.
TrainResult RunOffPolicy(const TrainConfig& config, const std::string& run_dir, bool resume,
                         int64_t stop_after, env::VectorEnv& envs, const std::string& config_yaml) {
  const std::string ckpt_dir = run_dir + "/checkpoints", latest = ckpt_dir + "/latest.pt";
  const std::string replay_dir = ckpt_dir + "/replay";
  const algos::DqnConfig& q = config.dqn;
  const bool pebble = config.algo == "pebble";
  const bool sac = config.algo == "sac" || pebble;
  const Space& obs_space = envs.single_observation_space();
  const Space& act_space = envs.env(0).Unwrapped()->action_space();  // bounds before ClipAction
  std::unique_ptr<algos::Agent> agent_ptr = MakeAgent(config, obs_space, act_space, run_dir);
  algos::Agent& agent = *agent_ptr;
  auto* const pebble_agent = dynamic_cast<algos::pebble::Pebble*>(agent_ptr.get());
  auto* const human =
      pebble ? dynamic_cast<algos::pebble::HumanTeacher*>(&pebble_agent->teacher()) : nullptr;
  std::deque<double> shown_returns, shown_model_returns;  // the labeling app's chart
  const int n = config.env.num_envs;
  const int64_t obs_dim = obs_space.size();
  buffers::ReplaySpec spec;
  spec.capacity = std::max<int64_t>(sac ? config.sac.buffer_size : q.buffer_size, n);
  spec.num_envs = n;
  spec.obs_dim = obs_dim;
  spec.num_discrete = act_space.num_discrete();
  spec.num_continuous = act_space.num_continuous();
  spec.gamma = static_cast<float>(GammaOf(config));
  buffers::ReplayBuffer replay(spec, static_cast<uint64_t>(config.seed));
  Counters c;
  c.next_eval = config.eval.every_steps;
  c.next_checkpoint = config.checkpoint.every_steps;
  std::deque<double> recent;
  if (resume) {
    LoadCheckpoint(latest, agent, envs, c, recent);
    if (config.checkpoint.save_replay_buffer) replay.LoadInto(replay_dir);
  }
  io::MetricsLogger metrics(run_dir);
  const SignalScope signals;
  if (human) human->Start();
  const torch::Tensor obs = env::ObservationTensor(envs);
  std::vector<float> obs_copy(static_cast<size_t>(n * obs_dim)), next_obs(obs_copy.size()),
      rewards(n);
  std::vector<uint8_t> term(n), trunc(n);
  std::vector<float> model_rewards(pebble ? n : 0);
  std::vector<std::vector<double>> states(pebble ? n : 0);  // simulator state per env
  buffers::Batch batch;
  ProgressLine progress(config.progress);
  const int64_t iterations = std::max<int64_t>(1, config.total_timesteps / n);
  const double explore_steps = q.exploration_fraction * static_cast<double>(config.total_timesteps);
  const int64_t target_every = std::max<int64_t>(1, q.target_network_frequency / n);
  const auto start = Clock::now();
  const int64_t start_step = c.global_step;
  TrainResult result;
  const std::function<void(const std::string&)> save = [&](const std::string& path) {
    if (config.checkpoint.save_replay_buffer && path == latest) replay.Save(replay_dir);
    SaveCheckpoint(path, agent, envs, c, recent, config_yaml);
  };
  while (c.iteration < iterations) {
    // epsilon: linear from start_e to end_e over exploration_fraction of the run
    const double slope = (q.end_e - q.start_e) / explore_steps;
    const double epsilon =
        std::max(slope * static_cast<double>(c.global_step) + q.start_e, q.end_e);
    std::memcpy(obs_copy.data(), envs.observations(), obs_copy.size() * sizeof(float));
    if (pebble) {
      pebble_agent->Collect(obs, c.global_step, envs.continuous_actions());
      for (int i = 0; i < n; ++i) states[i] = envs.env(i).GetState();  // where obs was taken
    } else if (sac) {
      static_cast<algos::Sac&>(agent).Collect(obs, c.global_step, envs.continuous_actions());
    } else {
      static_cast<algos::Dqn&>(agent).Explore(obs, epsilon, envs.discrete_actions());
    }
    envs.Step();
    c.global_step += n;
    ++c.iteration;
    // the true next observation: the final one where an episode ended
    std::memcpy(next_obs.data(), envs.observations(), next_obs.size() * sizeof(float));
    for (int i = 0; i < n; ++i) {
      rewards[i] = static_cast<float>(envs.rewards()[i]);
      term[i] = envs.terminated()[i];
      trunc[i] = envs.truncated()[i];
      if (envs.has_final()[i]) {
        std::memcpy(next_obs.data() + i * obs_dim,
                    static_cast<const float*>(envs.final_observations()) + i * obs_dim,
                    static_cast<size_t>(obs_dim) * sizeof(float));
        ++c.episodes;
        recent.push_back(envs.final_returns()[i]);
        if (recent.size() > 20) recent.pop_front();
        metrics.Log(c.global_step, "charts/episodic_return", envs.final_returns()[i]);
        metrics.Log(c.global_step, "charts/episodic_length",
                    static_cast<double>(envs.final_lengths()[i]));
      }
    }
    if (pebble) {  // the replay buffer holds the learned reward; the true one goes to queries
      const float* actions = envs.continuous_actions();
      pebble_agent->ModelRewards(obs_copy.data(), actions, model_rewards.data());
      for (int i = 0; i < n; ++i) {
        const auto fit = pebble_agent->Record(i, c.global_step, obs_copy.data() + i * obs_dim,
                                              actions + i * act_space.num_continuous(), rewards[i],
                                              model_rewards[i], states[i], envs.has_final()[i]);
        if (fit) {
          metrics.Log(c.global_step, "charts/episodic_model_return", fit->model_return);
          if (!std::isnan(fit->reward_correlation))
            metrics.Log(c.global_step, "charts/episodic_reward_correlation",
                        fit->reward_correlation);
        }
        if (human && fit) {
          shown_returns.push_back(envs.final_returns()[i]);
          shown_model_returns.push_back(fit->model_return);
          if (shown_returns.size() > 100)
            shown_returns.pop_front(), shown_model_returns.pop_front();
        }
      }
      if (!pebble_agent->learns_from_true_reward()) rewards = model_rewards;
      if (human && c.iteration % 50 == 0) {
        const double secs = std::chrono::duration<double>(Clock::now() - start).count();
        human->SetStatus({"training",
                          c.global_step,
                          config.total_timesteps,
                          static_cast<double>(c.global_step - start_step) / std::max(secs, 1e-9),
                          pebble_agent->queries_asked(),
                          pebble_agent->max_feedback(),
                          {shown_returns.begin(), shown_returns.end()},
                          {shown_model_returns.begin(), shown_model_returns.end()}});
      }
    }
    replay.Add(obs_copy, next_obs,
               {envs.discrete_actions(), static_cast<size_t>(n * act_space.num_discrete())},
               {envs.continuous_actions(), static_cast<size_t>(n * act_space.num_continuous())},
               rewards, term, trunc);
    if (pebble) {
      for (const auto& [tag, value] : pebble_agent->Train(replay, c.global_step, c.iteration))
        metrics.Log(c.global_step, tag, value);
      if (c.iteration % 100 == 0) {
        const double secs = std::chrono::duration<double>(Clock::now() - start).count();
        metrics.Log(c.global_step, "charts/SPS",
                    static_cast<double>(c.global_step - start_step) / secs);
      }
    } else if (sac && c.global_step > config.sac.learning_starts &&
               replay.size() >= config.sac.learning_starts) {
      replay.Sample(config.sac.batch_size, &batch);
      const auto losses = static_cast<algos::Sac&>(agent).Update(batch, c.iteration);
      if (c.iteration % 100 == 0) {
        for (const auto& [tag, value] : losses) metrics.Log(c.global_step, tag, value);
        const double secs = std::chrono::duration<double>(Clock::now() - start).count();
        metrics.Log(c.global_step, "charts/SPS",
                    static_cast<double>(c.global_step - start_step) / secs);
      }
    }
    if (!sac && c.global_step > q.learning_starts && replay.size() >= q.learning_starts) {
      if (c.iteration % q.train_frequency == 0) {
        replay.Sample(q.batch_size, &batch);
        const auto losses = static_cast<algos::Dqn&>(agent).Update(batch);
        if (c.iteration % (100 * q.train_frequency) == 0) {
          for (const auto& [tag, value] : losses) metrics.Log(c.global_step, tag, value);
          const double secs = std::chrono::duration<double>(Clock::now() - start).count();
          metrics.Log(c.global_step, "charts/SPS",
                      static_cast<double>(c.global_step - start_step) / secs);
          metrics.Log(c.global_step, "charts/epsilon", epsilon);
        }
      }
      if (c.iteration % target_every == 0) static_cast<algos::Dqn&>(agent).UpdateTarget();
    }
    double mean_recent = 0.0;
    for (double r : recent) mean_recent += r / static_cast<double>(recent.size());
    result.last_mean_return = mean_recent;
    if (c.iteration % 256 == 0) {
      const double secs = std::chrono::duration<double>(Clock::now() - start).count();
      progress.Update(c.global_step, iterations * n,
                      static_cast<double>(c.global_step - start_step) / secs, mean_recent,
                      !recent.empty());
    }
    if (EndIteration(config, run_dir, stop_after, metrics, agent, envs, c,
                     c.iteration >= iterations, save)) {
      result.interrupted = true;
      break;
    }
  }
  FinishRun(result, c, start, start_step, iterations * n, progress, !recent.empty());
  return result;
}

}  // namespace

TrainConfig LoadConfig(const std::string& file, const std::vector<std::string>& overrides) {
  YAML::Node root = file.empty() ? YAML::Node(YAML::NodeType::Map) : config::LoadFile(file);
  for (const auto& o : overrides) config::ApplyOverride(root, o);
  TrainConfig c;
  const YAML::Node& const_root = root;
  if (const_root["algo"] && const_root["algo"].IsScalar() && const_root["algo"].Scalar() == "a2c") {
    // A2C defaults (SB3 / seed 001): 5-step rollouts, one gradient step, no clipping
    c.ppo.a2c = true;
    c.ppo.num_steps = 5;
    c.ppo.update_epochs = 1;
    c.ppo.num_minibatches = 1;
    c.ppo.learning_rate = 7e-4;
    c.ppo.gae_lambda = 1.0;
    c.ppo.norm_adv = false;
    c.ppo.clip_vloss = false;
    c.ppo.anneal_lr = false;
  }
  config::Reader reader(root, "");
  c.Visit(reader);
  reader.Finish();
  if (c.algo == "a2c") c.ppo.a2c = true;
  const int64_t batch = static_cast<int64_t>(c.env.num_envs) * c.ppo.num_steps;
  if ((c.algo == "ppo" || c.algo == "a2c") && batch < c.ppo.num_minibatches) {
    throw Error("ppo.num_minibatches: expected at most env.num_envs x ppo.num_steps = " +
                std::to_string(batch));
  }
  env::Lookup(c.env.id);       // unknown ids fail here, with suggestions
  MakeEnv(c.env, GammaOf(c));  // and bad kwargs
  const auto probe = env::Make(c.env.id, ToKwargs(c.env.kwargs));  // the env's own spaces
  if (c.algo == "dqn" && probe->action_space().kind() != Space::Kind::kDiscrete) {
    throw Error("algo: dqn needs a Discrete action space, but env.id " + c.env.id + " has " +
                probe->action_space().ToString() + " (use ppo, or sac when it lands)");
  }
  if ((c.algo == "sac" || c.algo == "pebble") &&
      (probe->action_space().kind() != Space::Kind::kBox || !probe->action_space().is_bounded())) {
    throw Error("algo: " + c.algo + " needs a bounded Box action space, but env.id " + c.env.id +
                " has " + probe->action_space().ToString() + " (use dqn or ppo)");
  }
  if (c.algo == "pebble") c.pebble.Validate(probe->spec().max_episode_steps);
  if (c.algo != "dqn" && c.algo != "sac" && c.algo != "pebble" &&
      probe->action_space().kind() != Space::Kind::kDiscrete &&
      probe->action_space().kind() != Space::Kind::kMultiDiscrete &&
      probe->action_space().kind() != Space::Kind::kBox) {
    throw Error("algo: " + c.algo + " does not support the action space " +
                probe->action_space().ToString());
  }
  return c;
}

std::string ToYaml(const TrainConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer writer(out);
  const_cast<TrainConfig&>(config).Visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

bool UsesLibTorchThreads(const std::string& algo) { return algo == "pebble"; }

TrainResult Train(const TrainConfig& config_in, const std::string& run_dir, bool resume,
                  int64_t stop_after) {
  TrainConfig config = config_in;
  const std::string ckpt_dir = run_dir + "/checkpoints";
  const std::string latest = ckpt_dir + "/latest.pt";
  if (resume) {
    torch::serialize::InputArchive archive = OpenCheckpoint(latest);
    const std::string yaml = CheckpointConfigYaml(archive, latest);
    const std::string tmp = run_dir + "/.resume_config.yaml";
    WriteFileAtomic(tmp, yaml);
    config = LoadConfig(tmp, {});
    fs::remove(tmp);
  }
  fs::create_directories(ckpt_dir);
  const std::string config_yaml = ToYaml(config);
  WriteFileAtomic(run_dir + "/config.yaml", config_yaml);

  nn::UseTrainingThreads(UsesLibTorchThreads(config.algo));
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  auto envs = MakeVectorEnv(config.env, GammaOf(config));
  envs->Reset(static_cast<uint64_t>(config.seed));
  if (config.algo == "dqn" || config.algo == "sac" || config.algo == "pebble")
    return RunOffPolicy(config, run_dir, resume, stop_after, *envs, config_yaml);
  const Space& obs_space = envs->single_observation_space();
  const Space& act_space = envs->single_action_space();
  algos::Ppo agent(config.ppo, obs_space, act_space);
  const int n = config.env.num_envs, T = config.ppo.num_steps;
  buffers::RolloutBuffer rollout(T, n, obs_space.size(), act_space.num_discrete(),
                                 act_space.num_continuous());
  const int64_t batch = static_cast<int64_t>(n) * T;
  const int64_t iterations = std::max<int64_t>(1, config.total_timesteps / batch);

  Counters c;
  c.next_eval = config.eval.every_steps;
  c.next_checkpoint = config.checkpoint.every_steps;
  std::deque<double> recent;  // last 20 episode returns
  if (resume) LoadCheckpoint(latest, agent, *envs, c, recent);
  io::MetricsLogger metrics(run_dir);

  const SignalScope signals;

  const torch::Tensor obs = env::ObservationTensor(*envs);
  const torch::Tensor final_obs = env::FinalObservationTensor(*envs);
  std::vector<float> log_probs(n), values(n), rewards(n), final_values(n), last_values(n);
  std::vector<uint8_t> term(n), trunc(n);
  std::vector<float> obs_copy(static_cast<size_t>(n * obs_space.size()));
  ProgressLine progress(config.progress);
  const auto start = Clock::now();
  const int64_t start_step = c.global_step;
  TrainResult result;
  const std::function<void(const std::string&)> save = [&](const std::string& path) {
    SaveCheckpoint(path, agent, *envs, c, recent, config_yaml);
  };

  for (; c.iteration < iterations;) {
    const double frac = 1.0 - static_cast<double>(c.iteration) / static_cast<double>(iterations);
    const double lr =
        config.ppo.anneal_lr ? frac * config.ppo.learning_rate : config.ppo.learning_rate;
    rollout.Reset();
    for (int t = 0; t < T; ++t) {
      std::memcpy(obs_copy.data(), envs->observations(), obs_copy.size() * sizeof(float));
      agent.Act(obs, envs->discrete_actions(), envs->continuous_actions(), log_probs.data(),
                values.data());
      envs->Step();
      c.global_step += n;
      std::fill(final_values.begin(), final_values.end(), 0.0f);
      bool any_truncated = false;
      for (int i = 0; i < n; ++i) {
        rewards[i] = static_cast<float>(envs->rewards()[i]);
        term[i] = envs->terminated()[i];
        trunc[i] = envs->truncated()[i] && !envs->terminated()[i];
        any_truncated = any_truncated || trunc[i];
        if (envs->has_final()[i]) {
          ++c.episodes;
          recent.push_back(envs->final_returns()[i]);
          if (recent.size() > 20) recent.pop_front();
          metrics.Log(c.global_step, "charts/episodic_return", envs->final_returns()[i]);
          metrics.Log(c.global_step, "charts/episodic_length",
                      static_cast<double>(envs->final_lengths()[i]));
        }
      }
      if (any_truncated) {  // bootstrap time-limit cuts from V(final observation)
        agent.Value(final_obs.data_ptr<float>(), n, final_values.data());
        for (int i = 0; i < n; ++i) {
          if (!trunc[i]) final_values[i] = 0.0f;
        }
      }
      rollout.Add(obs_copy,
                  {envs->discrete_actions(), static_cast<size_t>(n * act_space.num_discrete())},
                  {envs->continuous_actions(), static_cast<size_t>(n * act_space.num_continuous())},
                  log_probs, values, rewards, term, trunc, final_values);
    }
    agent.Value(obs.data_ptr<float>(), n, last_values.data());
    rollout.ComputeReturnsAndAdvantages(last_values, static_cast<float>(config.ppo.gamma),
                                        static_cast<float>(config.ppo.gae_lambda));
    const auto losses = agent.Update(rollout, lr);
    ++c.iteration;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double sps = static_cast<double>(c.global_step - start_step) / std::max(seconds, 1e-9);
    for (const auto& [tag, value] : losses) metrics.Log(c.global_step, tag, value);
    metrics.Log(c.global_step, "charts/SPS", sps);
    double mean_recent = 0.0;
    for (double r : recent) mean_recent += r / static_cast<double>(recent.size());
    progress.Update(c.global_step, iterations * batch, sps, mean_recent, !recent.empty());

    result.last_mean_return = mean_recent;
    if (EndIteration(config, run_dir, stop_after, metrics, agent, *envs, c,
                     c.iteration >= iterations, save)) {
      result.interrupted = true;
      break;
    }
  }
  FinishRun(result, c, start, start_step, iterations * batch, progress, !recent.empty());
  return result;
}

namespace {

// A saved agent with the envs of its config, restored from a checkpoint.
struct Restored {
  TrainConfig config;
  std::unique_ptr<env::VectorEnv> envs;
  std::unique_ptr<algos::Agent> agent;
};

Restored Restore(const std::string& path) {
  torch::serialize::InputArchive archive = OpenCheckpoint(path);
  const std::string yaml = CheckpointConfigYaml(archive, path);
  const std::string tmp =
      fs::temp_directory_path() / ("rlforge_ckpt_" + std::to_string(::getpid()) + ".yaml");
  WriteFileAtomic(tmp, yaml);
  Restored r;
  try {
    r.config = LoadConfig(tmp, {});
  } catch (const Error& e) {
    fs::remove(tmp);
    throw Error(path + ": its saved config is invalid: " + e.what());
  }
  fs::remove(tmp);
  nn::UseTrainingThreads(UsesLibTorchThreads(r.config.algo));
  r.envs = MakeVectorEnv(r.config.env, GammaOf(r.config));
  r.agent = MakeAgent(r.config, r.envs->single_observation_space(),
                      r.envs->env(0).Unwrapped()->action_space());
  Counters c;
  std::deque<double> recent;
  LoadCheckpoint(path, *r.agent, *r.envs, c, recent);
  return r;
}

}  // namespace

std::vector<torch::Tensor> CheckpointParameters(const std::string& checkpoint) {
  return Restore(checkpoint).agent->parameters();
}

std::pair<double, double> Evaluate(const std::string& run_or_checkpoint, int episodes,
                                   bool deterministic, uint64_t seed, const Recording* video) {
  if (episodes < 1) throw Error("--episodes: expected a positive integer");
  std::string path = run_or_checkpoint;
  if (fs::is_directory(path)) {
    path += fs::exists(path + "/checkpoints/best.pt") ? "/checkpoints/best.pt"
                                                      : "/checkpoints/latest.pt";
  }
  Restored r = Restore(path);
  const std::vector<double> stats = ObsStats(*r.envs);
  return MeanStd(RunEpisodes(*r.agent, r.config.env, stats.empty() ? nullptr : &stats, episodes,
                             deterministic, seed, video));
}

}  // namespace rlforge::train
