// MAPPO (Yu et al. 2022, marlbenchmark/on-policy) and IPPO (de Witt et al. 2020) on PettingZoo-
// style multi-agent envs: PPO's loss and optimizer (algos/ppo, the `ppo:` section) per agent,
// with the multi-agent knobs here (the `mappo:` section). MAPPO's critic reads the global state
// (centralized training, decentralized execution); IPPO's reads the agent's own observation.
#pragma once

#include <string>

#include "rlforge/core/config.h"

namespace rlforge::algos {

struct MappoConfig {
  bool centralized_critic = true;     // critic on the global state (MAPPO), else on the obs (IPPO)
  bool share_parameters = true;       // one actor-critic for every agent (MAPPO: shared policy)
  bool agent_id = true;               // one-hot agent id appended to the inputs when shared
  bool value_norm = true;             // ValueNorm: the critic learns normalized returns (MAPPO)
  std::string reward = "individual";  // individual: agent i learns r_i; mean: the agents' mean

  template <class V>
  void Visit(V& v) {
    v("centralized_critic", centralized_critic,
      "critic on the global state, state() (MAPPO), instead of the agent's observation (IPPO)");
    v("share_parameters", share_parameters,
      "one actor and one critic for every agent (MAPPO's shared policy); false: one per agent");
    v("agent_id", agent_id,
      "append the agent's one-hot id to the actor's and critic's inputs when parameters are "
      "shared");
    v("value_norm", value_norm,
      "ValueNorm (MAPPO): the critic predicts returns normalized by running statistics "
      "(debiased EMA, beta 0.99999), updated once per rollout");
    v("reward", reward,
      "what each agent learns from: its own reward (individual) or the mean over agents (mean)",
      config::Choices{{"individual", "mean"}});
  }
};

}  // namespace rlforge::algos
