// `rlforge envs` / `rlforge env ...` for multi-agent (PettingZoo-style) env ids.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "rlforge/env/registry.h"

namespace rlforge::cli {

// Prints the multi-agent envs (agents, spaces, state size, kwargs) or adds them to `out`.
void ListMultiAgentEnvs(bool as_json, nlohmann::json& out);
int MultiAgentCheck(const std::string& id, const env::Kwargs& kwargs);
int MultiAgentRollout(const std::string& id, const env::Kwargs& kwargs, int episodes,
                      uint64_t seed);
int MultiAgentRender(const std::string& id, const env::Kwargs& kwargs, uint64_t seed, int steps,
                     const std::string& out);
// World steps per second of random-action stepping over `num_envs` envs, resets included.
double MultiAgentBenchOnce(const std::string& id, const env::Kwargs& kwargs, int64_t steps,
                           int num_envs, uint64_t seed);

}  // namespace rlforge::cli
