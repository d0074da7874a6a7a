// MuJoCo env throughput: for each v4 env, env steps/s (random actions, resets included) against
// the raw cost of frame_skip mj_step calls on the same model with the same controls, in the same
// run (ratio target >= 0.9), and 8-env vector-env throughput with 1 and 2 threads.
// Prints JSON on stdout: bench_mujoco [--steps N] [--repeat R].
#include <mujoco/mujoco.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rlforge/env/registry.h"
#include "rlforge/envs/mujoco/mujoco_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using rlforge::Action;

double Median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

// Pre-drawn random actions, so drawing them is not timed.
std::vector<float> RandomActions(const rlforge::Space& space, int count) {
  rlforge::Rng rng(3);
  const size_t n = space.num_continuous();
  std::vector<float> actions(n * count);
  for (int t = 0; t < count; ++t)
    for (size_t i = 0; i < n; ++i)
      actions[t * n + i] = static_cast<float>(rng.Uniform(space.low()[i], space.high()[i]));
  return actions;
}

// The episode starts of an env run: the step index and the state reset() drew.
struct Episodes {
  std::vector<int> start;                  // step index of each reset
  std::vector<std::vector<double>> state;  // qpos, qvel (and ctrl) after that reset
};

// Env steps per second through Make()'s env (TimeLimit included), with resets.
double EnvStepsPerSecond(const std::string& id, int steps, Episodes* record = nullptr) {
  auto env = rlforge::env::Make(id);
  std::vector<float> obs(env->observation_space().num_continuous());
  const size_t n = env->action_space().num_continuous();
  const auto actions = RandomActions(env->action_space(), 1024);
  env->Reset(0, obs.data());
  if (record) *record = {{0}, {env->GetState()}};
  const auto start = Clock::now();
  for (int t = 0; t < steps; ++t) {
    const float* a = actions.data() + (t % 1024) * n;
    const auto r = env->Step(Action{{}, {a, n}}, obs.data());
    if (r.terminated || r.truncated) {
      env->Reset(std::nullopt, obs.data());
      if (record) {
        record->start.push_back(t + 1);
        record->state.push_back(env->GetState());
      }
    }
  }
  return steps / std::chrono::duration<double>(Clock::now() - start).count();
}

// The same env steps as bare frame_skip x mj_step on the env's model: same controls, and at each
// episode start the state the env's reset drew (set, then mj_forward, as reset does).
double RawStepsPerSecond(const std::string& id, int steps, const Episodes& episodes) {
  auto env = rlforge::env::Make(id);
  auto& sim = dynamic_cast<rlforge::envs::mujoco::MujocoEnv&>(*env->Unwrapped());
  const mjModel* m = &sim.model();
  mjData* d = mj_makeData(m);
  const int frame_skip = static_cast<int>(std::lround(sim.dt() / m->opt.timestep));
  const auto actions = RandomActions(env->action_space(), 1024);
  size_t next = 0;
  const auto start = Clock::now();
  for (int t = 0; t < steps; ++t) {
    if (next < episodes.start.size() && episodes.start[next] == t) {
      const auto& state = episodes.state[next++];
      mj_resetData(m, d);
      std::copy_n(state.data(), m->nq, d->qpos);
      std::copy_n(state.data() + m->nq, m->nv, d->qvel);
      mj_forward(m, d);
    }
    const float* a = actions.data() + (t % 1024) * m->nu;
    for (int i = 0; i < m->nu; ++i) d->ctrl[i] = a[i];
    for (int i = 0; i < frame_skip; ++i) mj_step(m, d);
  }
  const double sps = steps / std::chrono::duration<double>(Clock::now() - start).count();
  mj_deleteData(d);
  return sps;
}

double VectorStepsPerSecond(const std::string& id, int num_envs, int threads, int steps) {
  auto envs = rlforge::env::MakeVector(id, num_envs, threads);
  envs->Reset(0);
  const size_t n = envs->single_action_space().num_continuous();
  const auto actions = RandomActions(envs->single_action_space(), 1024);
  const int iterations = steps / num_envs;
  const auto start = Clock::now();
  for (int t = 0; t < iterations; ++t) {
    for (int e = 0; e < num_envs; ++e) {
      std::copy_n(actions.data() + ((t * num_envs + e) % 1024) * n, n,
                  envs->continuous_actions() + e * n);
    }
    envs->Step();
  }
  return double(iterations) * num_envs /
         std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20000, repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
  }
  if (steps < 1000 || repeat < 1) {
    std::fprintf(stderr, "bench_mujoco: --steps must be >= 1000 and --repeat >= 1\n");
    return 2;
  }
  nlohmann::json results = nlohmann::json::array();
  for (const std::string id :
       {"HalfCheetah-v4", "Hopper-v4", "Walker2d-v4", "Ant-v4", "Humanoid-v4", "HumanoidStandup-v4",
        "Swimmer-v4", "InvertedPendulum-v4", "InvertedDoublePendulum-v4", "Reacher-v4",
        "Pusher-v4"}) {
    std::vector<double> env_sps, raw_sps, ratio, vec1, vec2;
    for (int r = 0; r < repeat; ++r) {  // interleaved, so both see the same machine state
      Episodes episodes;
      EnvStepsPerSecond(id, steps, &episodes);
      env_sps.push_back(EnvStepsPerSecond(id, steps));
      raw_sps.push_back(RawStepsPerSecond(id, steps, episodes));
      ratio.push_back(env_sps.back() / raw_sps.back());
      vec1.push_back(VectorStepsPerSecond(id, 8, 1, steps));
      vec2.push_back(VectorStepsPerSecond(id, 8, 2, steps));
    }
    results.push_back({{"env", id},
                       {"env_steps_per_second", Median(env_sps)},
                       {"raw_mj_step_steps_per_second", Median(raw_sps)},
                       {"ratio_env_to_raw", Median(ratio)},
                       {"vector8_threads1_steps_per_second", Median(vec1)},
                       {"vector8_threads2_steps_per_second", Median(vec2)},
                       {"thread_scaling", Median(vec2) / Median(vec1)}});
    std::fprintf(
        stderr, "%-26s env %9.0f/s  raw %9.0f/s  ratio %.3f  vec8 1t %9.0f/s  2t %9.0f/s\n",
        id.c_str(), Median(env_sps), Median(raw_sps), Median(ratio), Median(vec1), Median(vec2));
  }
  std::printf("%s\n", nlohmann::json{{"benchmark", "mujoco_throughput"},
                                     {"steps_per_run", steps},
                                     {"repeat", repeat},
                                     {"target_ratio", 0.9},
                                     {"results", results}}
                          .dump(1)
                          .c_str());
}
