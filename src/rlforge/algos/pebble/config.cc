#include "rlforge/algos/pebble/config.h"

#include "rlforge/core/error.h"

namespace rlforge::algos::pebble {

void PebbleConfig::Validate(int64_t max_episode_steps) const {
  if (max_feedback < queries_per_session) {
    throw Error("pebble.max_feedback: the budget (" + std::to_string(max_feedback) +
                ") is smaller than one session's queries_per_session (" +
                std::to_string(queries_per_session) + ")");
  }
  if (max_episode_steps > 0 && segment_length > max_episode_steps) {
    throw Error("pebble.segment_length: " + std::to_string(segment_length) +
                " steps is longer than the env's episodes (max_episode_steps " +
                std::to_string(max_episode_steps) + ")");
  }
  if (unsupervised_steps < random_exploration_steps) {
    throw Error("pebble.unsupervised_steps: expected at least random_exploration_steps (" +
                std::to_string(random_exploration_steps) + "), got " +
                std::to_string(unsupervised_steps));
  }
  if (reward_model.adaptive_l2 && reward_model.l2 <= 0) {
    throw Error(
        "pebble.reward_model.l2: adaptive_l2 scales it, so it must start above 0 "
        "(RLHF-Gym: 0.01), got " +
        std::to_string(reward_model.l2));
  }
  teacher.Resolved();
}

}  // namespace rlforge::algos::pebble
