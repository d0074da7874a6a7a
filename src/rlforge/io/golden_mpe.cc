// Multi-agent golden episodes (../shared/golden/mpe/README.md) and their replay in three modes.
#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/io/golden.h"
#include "rlforge/io/json_reader.h"

namespace rlforge::io {
namespace {

using internal::Close;
using internal::json;
using internal::Reader;

// {agent: value} -> pairs in the file's (sorted) key order.
template <typename T, typename Parse>
std::vector<std::pair<std::string, T>> ByAgent(const Reader& r, const std::string& key,
                                               Parse parse) {
  const json& object = r.Get(key);
  if (!object.is_object()) r.Fail("key '" + key + "': expected an object keyed by agent name");
  std::vector<std::pair<std::string, T>> out;
  for (const auto& [agent, value] : object.items())
    out.emplace_back(agent, parse(value, "key '" + key + "'['" + agent + "']"));
  return out;
}

// A number or an array of numbers, as an array.
std::vector<double> Numbers(const Reader& r, const json& v, const std::string& what) {
  if (v.is_number()) return {v.get<double>()};
  if (!v.is_array()) r.Fail(what + ": expected a number or an array of numbers");
  std::vector<double> out;
  for (const auto& x : v) {
    if (!x.is_number()) r.Fail(what + ": expected numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

// [[x, y], ...] flattened   (rows x 2)
std::vector<double> Pairs(const Reader& r, const std::string& key) {
  std::vector<double> out;
  const json& rows = r.Get(key);
  if (!rows.is_array()) r.Fail("key '" + key + "': expected an array of [x, y] pairs");
  for (const auto& row : rows) {
    if (!row.is_array() || row.size() != 2 || !row[0].is_number() || !row[1].is_number())
      r.Fail("key '" + key + "': expected [x, y] pairs of numbers");
    out.push_back(row[0].get<double>()), out.push_back(row[1].get<double>());
  }
  return out;
}

MultiAgentGoldenStep ParseStep(const json& j, const std::string& where) {
  const Reader r(j, where);
  auto numbers = [&r](const json& v, const std::string& what) { return Numbers(r, v, what); };
  auto number = [&r](const json& v, const std::string& what) {
    if (!v.is_number()) r.Fail(what + ": expected a number");
    return v.get<double>();
  };
  auto flag = [&r](const json& v, const std::string& what) {
    if (!v.is_boolean()) r.Fail(what + ": expected true or false");
    return v.get<bool>();
  };
  MultiAgentGoldenStep s;
  s.actions = ByAgent<std::vector<double>>(r, "actions", numbers);
  s.obs = ByAgent<std::vector<double>>(r, "obs", numbers);
  s.rewards = ByAgent<double>(r, "rewards", number);
  s.terminations = ByAgent<bool>(r, "terminations", flag);
  s.truncations = ByAgent<bool>(r, "truncations", flag);
  s.agent_pos = Pairs(r, "agent_pos");
  s.agent_vel = Pairs(r, "agent_vel");
  return s;
}

MultiAgentGoldenEpisode ParseEpisode(const json& j, const std::string& where) {
  const Reader r(j, where);
  MultiAgentGoldenEpisode ep;
  ep.env_id = r.String("env_id");
  ep.reset_seed = r.Int("reset_seed");
  if (ep.reset_seed < 0) r.Fail("key 'reset_seed': expected a non-negative integer");
  const json& kwargs = r.Get("kwargs");
  if (!kwargs.is_object()) r.Fail("key 'kwargs': expected an object");
  for (const auto& [name, value] : kwargs.items()) {
    if (value.is_boolean()) {
      ep.bool_kwargs.push_back(name);
      ep.kwargs.emplace_back(name, value.get<bool>() ? 1.0 : 0.0);
    } else if (value.is_number()) {
      ep.kwargs.emplace_back(name, value.get<double>());
    } else {
      r.Fail("key 'kwargs'['" + name + "']: expected a number or a bool");
    }
  }
  ep.initial_agent_pos = Pairs(r, "initial_agent_pos");
  ep.initial_landmark_pos = Pairs(r, "initial_landmark_pos");
  ep.initial_obs = ByAgent<std::vector<double>>(
      r, "initial_obs",
      [&r](const json& v, const std::string& what) { return Numbers(r, v, what); });
  const json& steps = r.Get("steps");
  if (!steps.is_array()) r.Fail("key 'steps': expected an array of step objects");
  for (size_t i = 0; i < steps.size(); ++i)
    ep.steps.push_back(ParseStep(steps[i], where + ": steps[" + std::to_string(i) + "]"));
  return ep;
}

class MultiAgentReplayer {
 public:
  MultiAgentReplayer(const MultiAgentGoldenEpisode& ep, double tol, ReplayReport& report)
      : ep_(ep), tol_(tol), report_(report) {
    env::Kwargs kwargs;
    for (const auto& [name, value] : ep.kwargs) {
      const bool is_bool =
          std::find(ep.bool_kwargs.begin(), ep.bool_kwargs.end(), name) != ep.bool_kwargs.end();
      if (is_bool) {
        kwargs[name] = value != 0.0;
      } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
        kwargs[name] = static_cast<int64_t>(value);
      } else {
        kwargs[name] = value;
      }
    }
    env_ = env::MakeMultiAgent(ep.env_id, kwargs);
    const auto n = static_cast<size_t>(env_->num_agents());
    obs_.resize(n * static_cast<size_t>(env_->obs_stride()));
    rewards_.resize(n), terminated_.resize(n), truncated_.resize(n);
  }

  void Problem(const std::string& what) {
    if (report_.first_problem.empty()) report_.first_problem = what;
    ok_ = false;
  }

  void Run(ReplayMode mode) {
    if (mode == ReplayMode::kFromSeed) {
      env_->Reset(static_cast<uint64_t>(ep_.reset_seed), obs_.data());
      ComparePositions(ep_.initial_agent_pos, std::vector<double>(ep_.initial_agent_pos.size()),
                       "reset");
      CompareLandmarks();
    } else {
      env_->Reset(static_cast<uint64_t>(ep_.reset_seed) + 1'000'003, obs_.data());
      SetRecordedState(ep_.initial_agent_pos, std::vector<double>(ep_.initial_agent_pos.size()));
      env_->Observe(obs_.data());
    }
    CompareObs(ep_.initial_obs, "reset");
    for (size_t t = 0; t < ep_.steps.size(); ++t) {
      if (mode == ReplayMode::kOneStep && t > 0)
        SetRecordedState(ep_.steps[t - 1].agent_pos, ep_.steps[t - 1].agent_vel);
      StepAndCompare(t);
      if (env_->num_alive() == 0 && t + 1 < ep_.steps.size()) {
        Problem("episode ended after " + std::to_string(t + 1) + " steps, recorded " +
                std::to_string(ep_.steps.size()));
        break;
      }
    }
    report_.passed = ok_;
  }

 private:
  // The recorded positions and velocities of the agents, the landmarks of reset, silent comm.
  void SetRecordedState(const std::vector<double>& pos, const std::vector<double>& vel) {
    std::vector<double> state = env_->GetState();
    const size_t agents = pos.size() / 2, landmarks = ep_.initial_landmark_pos.size() / 2;
    if (agents != static_cast<size_t>(env_->num_agents()) || vel.size() != pos.size() ||
        state.size() < 4 * (agents + landmarks))
      throw Error(ep_.env_id + ": the file's positions and velocities do not fit the env's " +
                  std::to_string(env_->num_agents()) + " agents and its landmarks");
    for (size_t i = 0; i < agents + landmarks; ++i) {
      const bool agent = i < agents;
      const std::vector<double>& p = agent ? pos : ep_.initial_landmark_pos;
      const size_t k = agent ? i : i - agents;
      state[4 * i] = p[2 * k], state[4 * i + 1] = p[2 * k + 1];
      state[4 * i + 2] = agent ? vel[2 * k] : 0.0;
      state[4 * i + 3] = agent ? vel[2 * k + 1] : 0.0;
    }
    std::fill(state.begin() + static_cast<std::ptrdiff_t>(4 * (agents + landmarks)), state.end(),
              0.0);
    env_->SetState(state);
  }

  void ComparePositions(const std::vector<double>& pos, const std::vector<double>& vel,
                        const std::string& where) {
    const std::vector<double> state = env_->GetState();
    if (pos.size() != 2 * static_cast<size_t>(env_->num_agents()) || vel.size() != pos.size()) {
      Problem(where + ": " + std::to_string(pos.size() / 2) + " positions and " +
              std::to_string(vel.size() / 2) + " velocities recorded, the env has " +
              std::to_string(env_->num_agents()) + " agents");
      return;
    }
    for (size_t i = 0; i < pos.size() / 2; ++i) {
      for (int k = 0; k < 2; ++k) {
        if (!Close(state[4 * i + k], pos[2 * i + k], tol_, report_.max_state_diff))
          Problem(where + ": position of agent " + std::to_string(i) + " differs");
        if (!Close(state[4 * i + 2 + k], vel[2 * i + k], tol_, report_.max_state_diff))
          Problem(where + ": velocity of agent " + std::to_string(i) + " differs");
      }
    }
  }

  void CompareLandmarks() {
    const std::vector<double> state = env_->GetState();
    const size_t agents = static_cast<size_t>(env_->num_agents());
    if (state.size() < 4 * (agents + ep_.initial_landmark_pos.size() / 2)) {
      Problem("reset: more landmarks recorded than the env has");
      return;
    }
    for (size_t l = 0; l < ep_.initial_landmark_pos.size() / 2; ++l) {
      for (size_t k = 0; k < 2; ++k) {
        if (!Close(state[4 * (agents + l) + k], ep_.initial_landmark_pos[2 * l + k], tol_,
                   report_.max_state_diff))
          Problem("reset: position of landmark " + std::to_string(l) + " differs");
      }
    }
  }

  void CompareObs(const std::vector<std::pair<std::string, std::vector<double>>>& recorded,
                  const std::string& where) {
    for (const auto& [agent, values] : recorded) {
      const int i = env_->AgentIndex(agent);
      if (static_cast<int64_t>(values.size()) != env_->observation_space(i).size()) {
        Problem(where + ": observation of " + agent + " has " + std::to_string(values.size()) +
                " values, env has " + std::to_string(env_->observation_space(i).size()));
        continue;
      }
      const float* ours = &obs_[static_cast<size_t>(i * env_->obs_stride())];
      for (size_t k = 0; k < values.size(); ++k) {
        if (!Close(ours[k], static_cast<float>(values[k]), tol_, report_.max_obs_diff))
          Problem(where + ": obs of " + agent + "[" + std::to_string(k) + "] differs");
      }
    }
  }

  void StepAndCompare(size_t t) {
    const MultiAgentGoldenStep& s = ep_.steps[t];
    const std::string where = "step " + std::to_string(t);
    discrete_.assign(s.actions.size(), {});
    continuous_.assign(s.actions.size(), {});
    std::vector<std::pair<std::string, Action>> actions;
    for (size_t a = 0; a < s.actions.size(); ++a) {
      const auto& [agent, values] = s.actions[a];
      const Space& space = env_->action_space(env_->AgentIndex(agent));
      for (double v : values) {
        if (space.num_discrete() > 0) {
          if (v != std::floor(v))
            throw Error(where + ": action of " + agent + ": expected integers");
          discrete_[a].push_back(static_cast<int64_t>(v));
        } else {
          continuous_[a].push_back(static_cast<float>(v));
        }
      }
      actions.emplace_back(agent, Action{discrete_[a], continuous_[a]});
    }
    env_->StepByName(actions, obs_.data(), rewards_.data(), terminated_.data(), truncated_.data());
    report_.replayed_steps = static_cast<int>(t + 1);
    CompareObs(s.obs, where);
    ComparePositions(s.agent_pos, s.agent_vel, where);
    for (const auto& [agent, reward] : s.rewards) {
      if (!Close(rewards_[static_cast<size_t>(env_->AgentIndex(agent))], reward, tol_,
                 report_.max_reward_diff))
        Problem(where + ": reward of " + agent + " differs");
    }
    auto flags = [&](const std::vector<std::pair<std::string, bool>>& recorded,
                     const std::vector<uint8_t>& ours, const char* name) {
      for (const auto& [agent, value] : recorded) {
        if ((ours[static_cast<size_t>(env_->AgentIndex(agent))] != 0) != value) {
          ++report_.flag_mismatches;
          Problem(where + ": " + name + " of " + agent + " differs");
        }
      }
    };
    flags(s.terminations, terminated_, "termination");
    flags(s.truncations, truncated_, "truncation");
  }

  const MultiAgentGoldenEpisode& ep_;
  double tol_;
  ReplayReport& report_;
  std::unique_ptr<env::MultiAgentEnv> env_;
  std::vector<float> obs_;                       // observations   (agents x stride)
  std::vector<double> rewards_;                  // (agents)
  std::vector<uint8_t> terminated_, truncated_;  // (agents)
  std::vector<std::vector<int64_t>> discrete_;   // one step's discrete actions by agent
  std::vector<std::vector<float>> continuous_;   // one step's continuous actions by agent
  bool ok_ = true;
};

}  // namespace

std::vector<MultiAgentGoldenEpisode> LoadMultiAgentGolden(const std::string& path) {
  const json root = internal::ReadEpisodeArray(path);
  std::vector<MultiAgentGoldenEpisode> episodes;
  for (size_t i = 0; i < root.size(); ++i)
    episodes.push_back(ParseEpisode(root[i], path + ": episode " + std::to_string(i)));
  return episodes;
}

ReplayReport ReplayMultiAgentEpisode(const MultiAgentGoldenEpisode& episode, ReplayMode mode,
                                     double tol, int index) {
  return internal::RunReplay<MultiAgentReplayer, MultiAgentGoldenEpisode, ReplayReport>(
      episode, mode, tol, index);
}

std::vector<ReplayReport> ReplayGoldenFile(const std::string& path, ReplayMode mode, double tol) {
  const json root = internal::ReadEpisodeArray(path);
  std::vector<ReplayReport> reports;
  if (root[0].is_object() && root[0].contains("initial_agent_pos")) {
    const auto episodes = LoadMultiAgentGolden(path);
    for (size_t i = 0; i < episodes.size(); ++i)
      reports.push_back(ReplayMultiAgentEpisode(episodes[i], mode, tol, static_cast<int>(i)));
  } else {
    const auto episodes = LoadGolden(path);
    for (size_t i = 0; i < episodes.size(); ++i)
      reports.push_back(ReplayEpisode(episodes[i], mode, tol, static_cast<int>(i)));
  }
  return reports;
}

}  // namespace rlforge::io
