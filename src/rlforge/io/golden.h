// Golden trajectories recorded from Gymnasium (format: ../shared/golden/README.md) and their
// replay against rlforge's envs in three modes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rlforge::io {

struct GoldenStep {
  std::optional<int64_t> discrete_action;  // Discrete envs
  std::vector<float> continuous_action;    // Box envs              (act_dim)
  std::vector<double> obs;                 // observation after the step   (obs_dim)
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
  std::vector<double> state;  // env.unwrapped.state after the step (may be empty)
};

struct GoldenEpisode {
  std::string env_id;
  int64_t reset_seed = 0;
  int max_episode_steps = 0;
  std::vector<double> initial_obs;    // observation returned by reset   (obs_dim)
  std::vector<double> initial_state;  // state right after reset         (state_dim)
  std::vector<GoldenStep> steps;
};

// Loads and validates a golden file; errors name the file, the episode, the step and the key.
std::vector<GoldenEpisode> LoadGolden(const std::string& path);

enum class ReplayMode {
  kReplay,    // set initial_state, apply every action in order
  kOneStep,   // set the recorded state before each step, apply one action
  kFromSeed,  // reset(seed=reset_seed), check the initial state, apply every action
};
ReplayMode ParseReplayMode(const std::string& text);

struct ReplayReport {
  int episode = 0;
  std::string env_id;
  int64_t reset_seed = 0;
  int expected_length = 0;
  int replayed_steps = 0;
  double max_obs_diff = 0.0;     // largest |float32(ours) - recorded| over observations
  double max_state_diff = 0.0;   // largest |ours - recorded| over states
  double max_reward_diff = 0.0;  // largest |ours - recorded| over rewards
  int flag_mismatches = 0;       // steps whose terminated/truncated differ
  bool passed = false;
  std::string first_problem;  // where it first went wrong, if it did
};

// Replays one episode. A value passes if |ours - recorded| <= tol * max(1, |recorded|); tol = 0
// demands bit-exact results.
ReplayReport ReplayEpisode(const GoldenEpisode& episode, ReplayMode mode, double tol,
                           int index = 0);

// Multi-agent golden episodes (../shared/golden/mpe/README.md): PettingZoo's parallel API,
// per-agent dicts keyed by agent name.
struct MultiAgentGoldenStep {
  std::vector<std::pair<std::string, std::vector<double>>> actions;  // by agent: int or floats
  std::vector<std::pair<std::string, std::vector<double>>> obs;      // by agent, after the step
  std::vector<std::pair<std::string, double>> rewards;
  std::vector<std::pair<std::string, bool>> terminations, truncations;
  std::vector<double> agent_pos, agent_vel;  // after the step, float64   (agents x 2)
};

struct MultiAgentGoldenEpisode {
  std::string env_id;
  std::vector<std::pair<std::string, double>> kwargs;  // numbers and bools (as 0/1)
  std::vector<std::string> bool_kwargs;                // which kwargs are bools
  int64_t reset_seed = 0;
  std::vector<double> initial_agent_pos, initial_landmark_pos;  // (agents x 2), (landmarks x 2)
  std::vector<std::pair<std::string, std::vector<double>>> initial_obs;  // by agent
  std::vector<MultiAgentGoldenStep> steps;
};

std::vector<MultiAgentGoldenEpisode> LoadMultiAgentGolden(const std::string& path);
ReplayReport ReplayMultiAgentEpisode(const MultiAgentGoldenEpisode& episode, ReplayMode mode,
                                     double tol, int index = 0);

// Every episode of a golden file of either kind (a multi-agent file has 'initial_agent_pos').
std::vector<ReplayReport> ReplayGoldenFile(const std::string& path, ReplayMode mode, double tol);

}  // namespace rlforge::io
