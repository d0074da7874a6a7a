// A run's configuration: the run-level sections (env, eval, checkpoint) and every algorithm's
// section, read from YAML with errors naming the key path (see core/config.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rlforge/algos/registry.h"
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
  std::vector<int64_t> resize;  // image observations resized to [height, width]; [] = as given

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
    v("resize", resize,
      "resize image observations to [height, width] by area averaging (Gymnasium's "
      "ResizeObservation); [] keeps the env's size");
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
  std::vector<std::string> video_overlay_signals;  // env signals drawn too (velocity/vx, ...)
  bool histograms = true;  // TensorBoard: weights, gradients and actions at each evaluation
  bool gif = false;  // TensorBoard: a frame (PNG) and the first episode (GIF): ~100 renders each

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
    v("video_overlay", video_overlay,
      "draw episode, step, reward, return, the agent's value estimate and the action on the video");
    v("video_overlay_signals", video_overlay_signals,
      "env signals drawn on the video too, by name (e.g. [velocity/vx] for BipedalWalker-v3, "
      "[qvel/rootx] for MuJoCo locomotion; `rlforge env signals ID` lists them)");
    v("video_fps", video_fps, "evaluation video frame rate", Range::Closed(1, 240));
    v("histograms", histograms,
      "TensorBoard histograms of the weights, the last update's gradients and the actions at each "
      "evaluation");
    v("gif", gif,
      "TensorBoard images at each evaluation: the first frame (PNG) and the first episode as an "
      "animated GIF (~10 fps, <= 240 px wide, <= 100 frames; off by default: the renders cost "
      "~0.1 s per evaluation on CartPole)");
  }
};

struct CheckpointConfig {
  int64_t every_steps = 50'000;     // checkpoint every this many env steps; 0 = only at the end
  bool save_replay_buffer = false;  // off-policy: keep the replay buffer with checkpoints

  template <class V>
  void Visit(V& v) {
    v("every_steps", every_steps, "checkpoint every this many env steps, 0 = at the end only",
      config::Range::NonNegative());
    v("save_replay_buffer", save_replay_buffer,
      "off-policy: save the replay buffer with each checkpoint (exact resume)");
  }
};

// Copies of the run on an rclone remote (Google Drive, S3, SFTP, ...): cloud/uploader.h.
struct CloudConfig {
  std::string remote;  // rclone remote and path, e.g. "gdrive:rlforge/runs/r1"; "" = off
  int64_t every = 1;   // upload every this many checkpoints
  std::string include = "checkpoints,metrics,tensorboard,videos,report";  // what goes up
  std::string bwlimit;           // rclone --bwlimit ("4M", "08:00,512k 23:00,off"); "" = none
  std::string rclone_config;     // path to an rclone.conf; "" = rclone's default
  bool required = false;         // refuse to start when the remote is unreachable
  double flush_timeout_s = 300;  // at the end (and on a stop), wait this long for uploads

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("remote", remote, "rclone remote:path the run is copied to (\"\" = off)");
    v("every", every, "upload every this many checkpoints", Range::Closed(1, 1e9));
    v("include", include,
      "comma-separated: checkpoints, metrics, tensorboard, videos, report (the run's files)");
    v("bwlimit", bwlimit, "rclone --bwlimit, e.g. 4M (\"\" = none)");
    v("rclone_config", rclone_config, "rclone.conf path (\"\" = rclone's default)");
    v("required", required, "refuse to start when the remote is not reachable and writable");
    v("flush_timeout_s", flush_timeout_s, "seconds to wait for pending uploads at the end",
      Range::Closed(0, 86400));
  }
  // The include list, each name checked (errors name cloud.include).
  std::vector<std::string> Included() const;
};

// The whole config; the algorithms' sections come from AlgoConfigs (c.ppo, c.sac, ...).
struct TrainConfig : algos::AlgoConfigs {
  std::string algo = "ppo";           // a registered algorithm (algos/registry.h)
  int64_t seed = 1;                   // drives every RNG (CleanRL: 1)
  int64_t total_timesteps = 500'000;  // env steps over all envs (CleanRL ppo.py: 500000)
  bool progress = true;               // live progress line on stderr
  bool report = true;                 // RUN_DIR/report.html at evaluations, checkpoints, the end
  EnvConfig env;
  EvalConfig eval;
  CheckpointConfig checkpoint;
  CloudConfig cloud;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("algo", algo, "algorithm", config::Choices{algos::AlgorithmNames()});
    v("seed", seed, "seed for every RNG (CleanRL: 1)", Range::Closed(0, 4294967295.0));
    v("total_timesteps", total_timesteps,
      "env steps over all envs (CleanRL ppo.py: 500000; at most 1e16)", Range::Closed(1, 1e16));
    v("progress", progress, "live progress line on stderr");
    v("report", report,
      "write RUN_DIR/report.html (Plotly, offline) at each evaluation, checkpoint and the end");
    v.Section("env", env, "environment");
    VisitAlgos(v);
    v.Section("eval", eval, "evaluation");
    v.Section("checkpoint", checkpoint, "checkpoints");
    v.Section("cloud", cloud, "copies of the run on an rclone remote");
  }
};

// Reads a config: the algorithm's defaults, then the YAML file (if any), then --set overrides;
// then the algorithm's own checks against the env's spaces.
TrainConfig LoadConfig(const std::string& file, const std::vector<std::string>& overrides);
// The same from YAML text (a checkpoint's saved config); errors name `source`.
TrainConfig LoadConfigText(const std::string& yaml, const std::string& source);
std::string ToYaml(const TrainConfig& config);

}  // namespace rlforge::train
