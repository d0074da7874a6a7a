// The training loop and the features layered around it: resolved config, metrics (CSV +
// TensorBoard), progress line, periodic evaluation with best-model keeping, checkpoints and
// SIGINT/SIGTERM handling.
#pragma once

#include <map>
#include <string>

#include "rlforge/algos/dqn/dqn.h"
#include "rlforge/algos/pebble/pebble.h"
#include "rlforge/algos/ppo/ppo.h"
#include "rlforge/algos/sac/sac.h"
#include "rlforge/core/config.h"

namespace rlforge::train {

struct EnvConfig {
  std::string id = "CartPole-v1";             // Gymnasium id
  int num_envs = 4;                           // parallel envs (CleanRL ppo.py: 4)
  int threads = 1;                            // vector env threads
  std::map<std::string, std::string> kwargs;  // env kwargs
  bool clip_action = true;  // clip Box actions to the bounds (CleanRL continuous: ClipAction)
  bool normalize_observation = false;  // NormalizeObservation per env (CleanRL continuous: true)
  bool normalize_reward = false;       // NormalizeReward per env (CleanRL continuous: true)
  double clip_observation = 10.0;      // clip normalized observations to +-this (CleanRL: 10)
  double clip_reward = 10.0;           // clip normalized rewards to +-this (CleanRL: 10)

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("id", id, "Gymnasium env id (`rlforge envs` lists them)");
    v("num_envs", num_envs, "parallel envs (CleanRL ppo.py: 4)", Range::Closed(1, 4096));
    v("threads", threads, "vector env threads; results do not depend on it", Range::Closed(1, 256));
    v("kwargs", kwargs, "env constructor kwargs");
    v("clip_action", clip_action,
      "clip Box actions to the action bounds (CleanRL continuous: true)");
    v("normalize_observation", normalize_observation,
      "running observation normalization (CleanRL continuous: true)");
    v("normalize_reward", normalize_reward,
      "running return-based reward scaling (CleanRL continuous: true)");
    v("clip_observation", clip_observation, "clip normalized observations to +-this (CleanRL: 10)",
      Range::Positive());
    v("clip_reward", clip_reward, "clip normalized rewards to +-this (CleanRL: 10)",
      Range::Positive());
  }
};

struct EvalConfig {
  int64_t every_steps = 10'000;      // evaluate every this many env steps; 0 = never
  int episodes = 10;                 // episodes per evaluation
  bool deterministic = true;         // greedy / mean actions
  bool video = false;                // record each evaluation's first episode into videos/
  std::string video_format = "mp4";  // mp4 (H.264) or webm (VP9)
  bool video_overlay = true;         // step, reward and return drawn on the frames
  int video_fps = 30;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("every_steps", every_steps, "evaluate every this many env steps, 0 = never",
      Range::NonNegative());
    v("episodes", episodes, "episodes per evaluation", Range::Closed(1, 100000));
    v("deterministic", deterministic, "greedy (discrete) or mean (continuous) actions");
    v("video", video, "record each evaluation's first episode to videos/step_<N>.<format>");
    v("video_format", video_format, "evaluation video container and codec",
      config::Choices{{"mp4", "webm"}});
    v("video_overlay", video_overlay, "draw episode, step, reward and return on the video");
    v("video_fps", video_fps, "evaluation video frame rate", Range::Closed(1, 240));
  }
};

struct CheckpointConfig {
  int64_t every_steps = 50'000;  // checkpoint every this many env steps; 0 = only at the end
  bool save_replay_buffer =
      false;  // off-policy: keep the replay buffer with checkpoints (exact resume)

  template <class V>
  void Visit(V& v) {
    v("every_steps", every_steps, "checkpoint every this many env steps, 0 = at the end only",
      config::Range::NonNegative());
    v("save_replay_buffer", save_replay_buffer,
      "off-policy: save the replay buffer with each checkpoint (exact resume)");
  }
};

struct TrainConfig {
  std::string algo = "ppo";           // ppo | a2c | dqn | sac | pebble
  int64_t seed = 1;                   // drives every RNG (CleanRL: 1)
  int64_t total_timesteps = 500'000;  // env steps over all envs (CleanRL ppo.py: 500000)
  bool progress = true;               // live progress line on stderr
  EnvConfig env;
  algos::PpoConfig ppo;
  algos::DqnConfig dqn;
  algos::SacConfig sac;
  algos::pebble::PebbleConfig pebble;  // algo pebble: SAC (the sac section) on a learned reward
  EvalConfig eval;
  CheckpointConfig checkpoint;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("algo", algo, "algorithm", config::Choices{{"ppo", "a2c", "dqn", "sac", "pebble"}});
    v("seed", seed, "seed for every RNG (CleanRL: 1)", Range::Closed(0, 4294967295.0));
    v("total_timesteps", total_timesteps, "env steps over all envs (CleanRL ppo.py: 500000)",
      Range::Positive());
    v("progress", progress, "live progress line on stderr");
    v.Section("env", env, "environment");
    v.Section("ppo", ppo, "PPO / A2C hyperparameters");
    v.Section("dqn", dqn, "DQN hyperparameters");
    v.Section("sac", sac, "SAC hyperparameters");
    v.Section("pebble", pebble, "PEBBLE: preference-based reward learning on SAC");
    v.Section("eval", eval, "evaluation");
    v.Section("checkpoint", checkpoint, "checkpoints");
  }
};

// Reads a config: the algorithm's defaults, then the YAML file (if any), then --set overrides.
TrainConfig LoadConfig(const std::string& file, const std::vector<std::string>& overrides);
std::string ToYaml(const TrainConfig& config);

// Whether `algo` does its math in LibTorch (PEBBLE's reward model), so that --threads also sets
// LibTorch's OpenMP threads; PPO, A2C, DQN and SAC split their batches on rlforge's ThreadPool.
bool UsesLibTorchThreads(const std::string& algo);

struct TrainResult {
  int64_t steps = 0;
  double seconds = 0.0;
  double last_mean_return = 0.0;  // mean of the last 20 episode returns
  bool interrupted = false;
};

// Trains into run_dir (created if needed). With resume, continues from
// run_dir/checkpoints/latest.pt and the config saved there. stop_after > 0: stop (with a
// checkpoint, resumable) once that many env steps are done.
TrainResult Train(const TrainConfig& config, const std::string& run_dir, bool resume = false,
                  int64_t stop_after = 0);

// The agent's parameters in a checkpoint file (actor, critic, log std), e.g. to compare runs.
std::vector<torch::Tensor> CheckpointParameters(const std::string& checkpoint);

// Where and how to record evaluation episodes as a video.
struct Recording {
  std::string path;      // .mp4 or .webm
  int episodes = 1;      // the first this many episodes
  bool overlay = false;  // episode, step, reward and return in a corner box
  int fps = 30;
};

// Mean and std of the return over episodes with a saved model (a run dir or a checkpoint file),
// optionally recorded.
std::pair<double, double> Evaluate(const std::string& run_or_checkpoint, int episodes,
                                   bool deterministic, uint64_t seed,
                                   const Recording* video = nullptr);

}  // namespace rlforge::train
