#include "rlforge/envs/mpe/mpe.h"

namespace rlforge::envs::mpe {

void RegisterMpe() {
  using env::MultiAgentEntry;
  env::RegisterMultiAgent(MultiAgentEntry{
      {"simple_spread_v3", 25},
      "N agents cover N landmarks and avoid each other (cooperative, shared + local reward)",
      {{"N", int64_t{3}, "agents (= landmarks)"},
       {"local_ratio", 0.5,
        "weight of the agent's own collision penalty against the shared reward"},
       {"max_cycles", int64_t{25}, "world steps until every agent is truncated"},
       {"continuous_actions", false, "Box(0, 1, (5,)) actions instead of Discrete(5)"}},
      MakeSimpleSpread});
  env::RegisterMultiAgent(MultiAgentEntry{
      {"simple_reference_v3", 25},
      "two agents guide each other to landmarks only the other can see (move + say heads)",
      {{"local_ratio", 0.5, "weight of the agent's own reward against the mean"},
       {"max_cycles", int64_t{25}, "world steps until every agent is truncated"},
       {"continuous_actions", false, "Box(0, 1, (15,)) actions instead of heads [5, 10]"}},
      MakeSimpleReference});
  env::RegisterMultiAgent(MultiAgentEntry{
      {"simple_tag_v3", 25},
      "slow adversaries chase fast good agents around obstacles (predator-prey)",
      {{"num_good", int64_t{1}, "good agents"},
       {"num_adversaries", int64_t{3}, "adversaries"},
       {"num_obstacles", int64_t{2}, "obstacles"},
       {"max_cycles", int64_t{25}, "world steps until every agent is truncated"},
       {"continuous_actions", false, "Box(0, 1, (5,)) actions instead of Discrete(5)"}},
      MakeSimpleTag});
}

}  // namespace rlforge::envs::mpe
