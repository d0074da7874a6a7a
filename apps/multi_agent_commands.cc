#include "multi_agent_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/io/image.h"

namespace rlforge::cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void ListMultiAgentEnvs(bool as_json, nlohmann::json& out) {
  for (const auto& id : env::MultiAgentIds()) {
    const env::MultiAgentEntry& entry = env::LookupMultiAgent(id);
    auto e = env::MakeMultiAgent(id);
    nlohmann::json agents = nlohmann::json::array();
    for (int i = 0; i < e->num_agents(); ++i) {
      agents.push_back({{"name", e->possible_agents()[static_cast<size_t>(i)]},
                        {"observation_space", e->observation_space(i).ToString()},
                        {"action_space", e->action_space(i).ToString()}});
    }
    if (as_json) {
      out.push_back({{"id", id},
                     {"multi_agent", true},
                     {"agents", agents},
                     {"state_size", e->state_size()},
                     {"max_cycles", entry.spec.max_cycles}});
      continue;
    }
    std::printf("%-26s %s (multi-agent, PettingZoo parallel API)\n", id.c_str(),
                entry.description.c_str());
    for (const auto& a : agents) {
      std::printf("  %-12s observation: %s, action: %s\n", a["name"].get<std::string>().c_str(),
                  a["observation_space"].get<std::string>().c_str(),
                  a["action_space"].get<std::string>().c_str());
    }
    std::printf("  state: %lld values, max_cycles: %d\n", static_cast<long long>(e->state_size()),
                entry.spec.max_cycles);
    for (const auto& k : entry.kwargs) {
      std::printf("  kwarg %s = %s: %s\n", k.name.c_str(),
                  env::KwValueToString(k.default_value).c_str(), k.description.c_str());
    }
  }
}

int MultiAgentCheck(const std::string& id, const env::Kwargs& kwargs) {
  env::MakeMultiAgent(id, kwargs);  // bad kwargs fail here, once
  const auto report = env::CheckMultiAgentEnv([&] { return env::MakeMultiAgent(id, kwargs); });
  for (const auto& p : report.passed) std::printf("  ok    %s\n", p.c_str());
  for (const auto& f : report.failures) std::printf("  FAIL  %s\n", f.c_str());
  std::printf("%s: %zu passed, %zu failed, %zu warnings\n", id.c_str(), report.passed.size(),
              report.failures.size(), report.warnings.size());
  return report.ok() ? 0 : 1;
}

int MultiAgentRollout(const std::string& id, const env::Kwargs& kwargs, int episodes,
                      uint64_t seed) {
  if (episodes < 1)
    throw Error("--episodes: expected a positive integer, got " + std::to_string(episodes));
  auto envs = env::MakeMultiAgentVector(id, 1, kwargs);
  const auto& names = envs->env(0).possible_agents();
  envs->Reset(seed);
  std::printf("random policy on %s, %d episodes, seed %llu\n", id.c_str(), episodes,
              static_cast<unsigned long long>(seed));
  std::vector<double> sums(names.size(), 0.0);
  for (int ep = 0; ep < episodes;) {
    envs->SampleActions();
    envs->Step();
    if (!envs->has_final()[0]) continue;
    std::printf("  episode %3d  length %4lld ", ep,
                static_cast<long long>(envs->final_lengths()[0]));
    for (size_t i = 0; i < names.size(); ++i) {
      std::printf(" %s %.3f", names[i].c_str(), envs->final_returns()[i]);
      sums[i] += envs->final_returns()[i];
    }
    std::printf("\n");
    ++ep;
  }
  double mean = 0.0;
  std::printf("summary: mean return per agent:");
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf(" %s %.3f", names[i].c_str(), sums[i] / episodes);
    mean += sums[i] / episodes / static_cast<double>(names.size());
  }
  std::printf("; mean over agents %.3f (PettingZoo per-agent scale)\n", mean);
  return 0;
}

int MultiAgentRender(const std::string& id, const env::Kwargs& kwargs, uint64_t seed, int steps,
                     const std::string& out) {
  if (steps < 0) throw Error("--steps: expected a non-negative integer");
  auto envs = env::MakeMultiAgentVector(id, 1, kwargs);
  envs->Reset(seed);
  for (int i = 0; i < steps && envs->env(0).steps() + 1 < envs->env(0).spec().max_cycles; ++i) {
    envs->SampleActions();
    envs->Step();
  }
  const env::Image image = envs->env(0).Render();
  io::WritePng(image, out);
  std::printf("wrote %s (%dx%d)\n", out.c_str(), image.width, image.height);
  return 0;
}

double MultiAgentBenchOnce(const std::string& id, const env::Kwargs& kwargs, int64_t steps,
                           int num_envs, uint64_t seed) {
  auto envs = env::MakeMultiAgentVector(id, num_envs, kwargs);
  envs->Reset(seed);
  const int64_t batches = std::max<int64_t>(1, steps / num_envs);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < batches; ++i) {
    envs->SampleActions();
    envs->Step();
  }
  return static_cast<double>(batches * num_envs) / SecondsSince(start);
}

}  // namespace rlforge::cli
