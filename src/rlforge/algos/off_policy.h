// What the off-policy loops (DQN, SAC, PEBBLE) share: one vector step's transitions as a replay
// buffer stores them, with the true next observation where an episode ended.
#pragma once

#include <cstdint>
#include <vector>

#include "rlforge/buffers/replay_buffer.h"
#include "rlforge/env/vector_env.h"
#include "rlforge/train/algorithm.h"

namespace rlforge::algos {

class Transitions {
 public:
  // `envs` are the job's envs [first, first + envs.num_envs()) of `total` (all of them when one
  // process runs the job).
  Transitions(env::VectorEnv& envs, int first, int total);

  // Copies the observations the envs' next actions are taken on.
  void Observe();
  // After envs.Step(): the rewards, flags and true next observations; ended episodes (every
  // rank's) are reported to ctx; ctx.global_step (by every rank's envs) and ctx.iteration advance.
  void Record(train::Context& ctx);
  // Stores the step in `replay` (rewards from `rewards`, by default the env's).
  void AddTo(buffers::ReplayBuffer& replay);
  void AddTo(buffers::ReplayBuffer& replay, const std::vector<float>& rewards);

  // A buffer for these envs' transitions.
  buffers::ReplaySpec Spec(int64_t capacity, double gamma) const;

  std::vector<float> obs;            // observation acted on              (N x obs_dim)
  std::vector<float> next_obs;       // true next observation             (N x obs_dim)
  std::vector<float> rewards;        // env reward                        (N)
  std::vector<uint8_t> term, trunc;  // terminated, truncated        (N)

 private:
  env::VectorEnv& envs_;
  int n_, first_, total_;      // this process's envs, the global index of its first, the job's
  std::vector<double> ended_;  // this step's ended episodes: step, global env, return, length
  int64_t obs_dim_, num_discrete_, num_continuous_;
};

}  // namespace rlforge::algos
