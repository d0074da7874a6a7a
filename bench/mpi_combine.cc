// The gradient combination of a data-parallel update, alone: every rank's shard gradients
// gathered (dist::Allgather) and summed in shard order, as Ppo::CombineShards does, for the
// parameter counts of PPO and SAC on HalfCheetah-v4 (CleanRL's networks). Run under mpirun;
// rank 0 prints JSON: median and 90th-percentile milliseconds per combination.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rlforge/dist/comm.h"

namespace {

// weights and biases of an MLP with these layer sizes
int64_t MlpParameters(const std::vector<int64_t>& sizes) {
  int64_t n = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) n += sizes[l] * sizes[l + 1] + sizes[l + 1];
  return n;
}

nlohmann::json Time(const std::string& name, int64_t params, int reps) {
  namespace dist = rlforge::dist;
  std::vector<float> mine(static_cast<size_t>(params), 1.0f / static_cast<float>(dist::Rank() + 1));
  std::vector<float> all(mine.size() * static_cast<size_t>(dist::Size())), sum(mine.size());
  std::vector<double> ms;
  for (int rep = -10; rep < reps; ++rep) {  // 10 unmeasured
    dist::Barrier();
    const auto start = std::chrono::steady_clock::now();
    dist::Allgather(mine, all);
    std::copy_n(all.begin(), params, sum.begin());
    for (int r = 1; r < dist::Size(); ++r) {
      for (int64_t i = 0; i < params; ++i) sum[i] += all[r * params + i];
    }
    const auto end = std::chrono::steady_clock::now();
    if (rep >= 0) ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {{"network", name},
          {"parameters", params},
          {"bytes_per_rank", params * 4},
          {"median_ms", ms[ms.size() / 2]},
          {"p90_ms", ms[ms.size() * 9 / 10]}};
}

}  // namespace

int main() {
  namespace dist = rlforge::dist;
  dist::Init();
  const int64_t obs = 17, act = 6;  // HalfCheetah-v4
  // PPO: actor and critic 64-64 (+ log std); SAC: actor 256-256 (mean, log std), twin critics
  const int64_t ppo = MlpParameters({obs, 64, 64, act}) + MlpParameters({obs, 64, 64, 1}) + act;
  const int64_t sac =
      MlpParameters({obs, 256, 256, 2 * act}) + 2 * MlpParameters({obs + act, 256, 256, 1});
  nlohmann::json out = {
      {"ranks", dist::Size()},
      {"what", "Allgather of each rank's gradient + sum in rank order"},
      {"results", {Time("ppo_halfcheetah", ppo, 300), Time("sac_halfcheetah", sac, 100)}}};
  if (dist::Rank() == 0) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
