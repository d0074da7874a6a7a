// The envs of a run, made from its EnvConfig the way CleanRL wraps them, and what algorithms
// share around them: evaluation episodes and env state in checkpoints.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "rlforge/env/registry.h"
#include "rlforge/env/vector_env.h"
#include "rlforge/io/safetensors.h"
#include "rlforge/train/algorithm.h"
#include "rlforge/train/config.h"

namespace rlforge::env {
class MultiAgentVectorEnv;
}

namespace rlforge::train {

// env kwargs from config text: true/false, integers, numbers, else strings
env::Kwargs EnvKwargs(const EnvConfig& c);
// One env: RecordEpisodeStatistics (true returns), ClipAction, the normalizers as configured.
std::unique_ptr<env::Env> MakeEnv(const EnvConfig& c, double gamma);
// num_envs of them, reset with `seed` (env i with seed + first + i: `first` is the global index
// of env 0 when other processes hold the envs before it).
std::unique_ptr<env::VectorEnv> MakeVectorEnv(const EnvConfig& c, double gamma, uint64_t seed,
                                              int first = 0);
// This process's share of c.num_envs when the ranks of an mpirun job split them (dist/comm.h):
// the config of its num_envs / ranks envs, and the global index of its first. An Error naming
// both numbers when they do not divide.
std::pair<EnvConfig, int> RankShare(const EnvConfig& c);

// Episodes that ended on this rank, 4 values each (the global step it ended at, the env's global
// index, its return, its length), and those of every other rank of the job (dist/comm.h),
// reported to ctx in (step, env) order, each at its step: every rank's counters and recent
// returns stay the same, and rank 0 logs them all. Clears `ended`.
void ReportEpisodes(Context& ctx, std::vector<double>& ended);

// Every env's state and RNG (and the vector env's) as the U8 tensor "envs".
void SaveEnvs(io::TensorDict& out, const env::VectorEnv& envs);
void LoadEnvs(const io::TensorDict& in, env::VectorEnv& envs);
// The episodes that ended on the last multi-agent step: each as ctx.EndEpisode(mean over the
// agents of their returns: PettingZoo's per-agent scale), and once per step the means of those
// episodes' team returns (the sum over agents) and of each agent's return, as
// charts/team_episodic_return and charts/<agent>/episodic_return.
void EndEpisodes(Context& ctx, const env::MultiAgentVectorEnv& envs);
// The same for multi-agent envs.
void SaveEnvs(io::TensorDict& out, const env::MultiAgentVectorEnv& envs);
void LoadEnvs(const io::TensorDict& in, env::MultiAgentVectorEnv& envs);

// Actions for n observations (n x obs_dim): discrete (n x D), continuous (n x C). `obs` holds the
// env's observation bytes: floats for float32 spaces, pixels for uint8 images (cast it back).
using ActFn = std::function<void(const float* obs, int64_t n, int64_t* discrete, float* continuous,
                                 bool deterministic)>;
// Episodes on a fresh env of `c` (reward normalization off; observation normalization frozen at
// `training`'s env 0 statistics, if it normalizes) with `act`; returns their returns. A recurrent
// policy resets its state in `begin_episode` (called before each episode's first action).
// The agent's value estimate of the state `obs` it chose an action for: V(s) or Q(s, a).
using ValueFn =
    std::function<double(const float* obs, const int64_t* discrete, const float* continuous)>;
std::vector<double> RunEpisodes(const ActFn& act, const EnvConfig& c, env::VectorEnv* training,
                                const EvalRequest& req,
                                const std::function<void()>& begin_episode = nullptr,
                                const ValueFn& value = nullptr);

// The same on a given env (a multi-agent env's joint view, say), as it is.
std::vector<double> RunEpisodesOn(env::Env& e, const ActFn& act, const EvalRequest& req,
                                  const std::function<void()>& begin_episode = nullptr,
                                  const ValueFn& value = nullptr);

// Episodes on the joint view of a multi-agent env (env/multi_agent.h's JointEnv) of `c`, as
// RunEpisodes; `act` also gets every agent's action mask (N x mask_stride, null when the env
// has none) for the agents' observations (N x obs_stride).
using JointActFn = std::function<void(const float* obs, const uint8_t* masks, int64_t* discrete,
                                      float* continuous, bool deterministic)>;
std::vector<double> RunJointEpisodes(const JointActFn& act, const EnvConfig& c,
                                     const EvalRequest& req);

}  // namespace rlforge::train
