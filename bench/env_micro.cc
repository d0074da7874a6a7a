// Micro-benchmarks of one env step (Google Benchmark). End-to-end figures: bench/env_throughput.sh.
#include <benchmark/benchmark.h>

#include "rlforge/env/registry.h"

namespace {

void BM_Step(benchmark::State& state, const char* id) {
  auto env = rlforge::env::Make(id);
  const rlforge::Space& space = env->action_space();
  std::vector<float> obs(static_cast<size_t>(env->observation_space().size()));
  std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
  std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
  rlforge::Rng rng(0);
  env->Reset(0, obs.data());
  for (auto _ : state) {
    space.Sample(rng, disc, cont);
    const auto r = env->Step({disc, cont}, obs.data());
    if (r.terminated || r.truncated) env->Reset(std::nullopt, obs.data());
    benchmark::DoNotOptimize(obs.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Step, CartPole, "CartPole-v1");
BENCHMARK_CAPTURE(BM_Step, Pendulum, "Pendulum-v1");
BENCHMARK_CAPTURE(BM_Step, MountainCar, "MountainCar-v0");
BENCHMARK_CAPTURE(BM_Step, MountainCarContinuous, "MountainCarContinuous-v0");
BENCHMARK_CAPTURE(BM_Step, Acrobot, "Acrobot-v1");

}  // namespace

BENCHMARK_MAIN();
