#include "rlforge/io/golden.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "rlforge/env/wrappers.h"
#include "rlforge/io/json_reader.h"

namespace rlforge::io {
namespace {

using internal::Close;
using internal::Reader;
using nlohmann::json;

GoldenStep ParseStep(const json& j, const std::string& where) {
  const Reader r(j, where);
  GoldenStep step;
  const json& action = r.Get("action");
  if (action.is_number_integer()) {
    step.discrete_action = action.get<int64_t>();
  } else if (action.is_array() && !action.empty()) {
    for (const auto& a : action) {
      if (!a.is_number()) r.Fail("key 'action': expected an integer or an array of numbers");
      step.continuous_action.push_back(static_cast<float>(a.get<double>()));
    }
  } else {
    r.Fail("key 'action': expected an integer or an array of numbers, got " + action.dump());
  }
  step.obs = r.Numbers("obs");
  step.reward = r.Number("reward");
  step.terminated = r.Bool("terminated");
  step.truncated = r.Bool("truncated");
  if (r.Has("state")) step.state = r.Numbers("state");
  return step;
}

GoldenEpisode ParseEpisode(const json& j, const std::string& where) {
  const Reader r(j, where);
  GoldenEpisode ep;
  ep.env_id = r.String("env_id");
  ep.reset_seed = r.Int("reset_seed");
  if (ep.reset_seed < 0) r.Fail("key 'reset_seed': expected a non-negative integer");
  const int64_t max_steps = r.Int("max_episode_steps");
  if (max_steps <= 0 || max_steps > 1'000'000'000)
    r.Fail("key 'max_episode_steps': expected a positive integer");
  ep.max_episode_steps = static_cast<int>(max_steps);
  ep.initial_obs = r.Numbers("initial_obs");
  ep.initial_state = r.Numbers("initial_state");
  const json& steps = r.Get("steps");
  if (!steps.is_array()) r.Fail("key 'steps': expected an array of step objects");
  for (size_t i = 0; i < steps.size(); ++i) {
    ep.steps.push_back(ParseStep(steps[i], where + ": steps[" + std::to_string(i) + "]"));
  }
  if (r.Has("length") && r.Int("length") != static_cast<int64_t>(ep.steps.size())) {
    r.Fail("key 'length' = " + std::to_string(r.Int("length")) + " but 'steps' has " +
           std::to_string(ep.steps.size()) + " entries");
  }
  return ep;
}

class Replayer {
 public:
  Replayer(const GoldenEpisode& ep, double tol, ReplayReport& report)
      : ep_(ep),
        tol_(tol),
        report_(report),
        env_(env::Make(ep.env_id,
                       {{"max_episode_steps", static_cast<int64_t>(ep.max_episode_steps)}})) {
    const Space& space = env_->observation_space();
    if (space.dtype() != DType::kFloat32)
      throw Error(ep.env_id + ": golden replay needs float32 observations");
    obs_.resize(static_cast<size_t>(space.size()));
    time_limit_ = env::FindWrapper<env::TimeLimit>(env_.get());
  }

  void Problem(const std::string& what) {
    if (report_.first_problem.empty()) report_.first_problem = what;
    ok_ = false;
  }

  void CompareObs(const std::vector<double>& recorded, const std::string& where) {
    if (recorded.size() != obs_.size()) {
      Problem(where + ": observation has " + std::to_string(recorded.size()) + " values, env has " +
              std::to_string(obs_.size()));
      return;
    }
    for (size_t i = 0; i < obs_.size(); ++i) {
      // recorded values are exact float32 values written as float64
      if (!Close(obs_[i], static_cast<float>(recorded[i]), tol_, report_.max_obs_diff)) {
        Problem(where + ": obs[" + std::to_string(i) + "] differs");
      }
    }
  }

  void CompareState(const std::vector<double>& recorded, const std::string& where) {
    if (recorded.empty()) return;
    const std::vector<double> ours = env_->GetState();
    if (ours.size() != recorded.size()) {
      Problem(where + ": state has " + std::to_string(recorded.size()) + " values, env has " +
              std::to_string(ours.size()));
      return;
    }
    for (size_t i = 0; i < ours.size(); ++i) {
      if (!Close(ours[i], recorded[i], tol_, report_.max_state_diff)) {
        Problem(where + ": state[" + std::to_string(i) + "] differs");
      }
    }
  }

  // Applies step t's action and compares; false when our episode ended early.
  bool StepAndCompare(size_t t) {
    const GoldenStep& s = ep_.steps[t];
    const std::string where = "step " + std::to_string(t);
    int64_t discrete = s.discrete_action.value_or(0);
    const Action action{
        s.discrete_action ? std::span<const int64_t>(&discrete, 1) : std::span<const int64_t>(),
        s.continuous_action};
    const env::StepResult r = env_->Step(action, obs_.data());
    report_.replayed_steps = static_cast<int>(t + 1);
    CompareObs(s.obs, where);
    CompareState(s.state, where);
    if (!Close(r.reward, s.reward, tol_, report_.max_reward_diff))
      Problem(where + ": reward differs");
    if (r.terminated != s.terminated || r.truncated != s.truncated) {
      ++report_.flag_mismatches;
      Problem(where + ": terminated/truncated = " + std::to_string(r.terminated) + "/" +
              std::to_string(r.truncated) + ", recorded " + std::to_string(s.terminated) + "/" +
              std::to_string(s.truncated));
    }
    return !((r.terminated || r.truncated) && t + 1 < ep_.steps.size());
  }

  void SetRecordedState(const std::vector<double>& state, int elapsed) {
    env_->SetState(state);
    if (time_limit_ != nullptr) time_limit_->set_elapsed_steps(elapsed);
  }

  void Run(ReplayMode mode) {
    env_->Reset(static_cast<uint64_t>(ep_.reset_seed), obs_.data());
    if (mode == ReplayMode::kFromSeed) {
      CompareState(ep_.initial_state, "reset");
    } else {
      SetRecordedState(ep_.initial_state, 0);
      env_->Observe(obs_.data());
    }
    CompareObs(ep_.initial_obs, "reset");
    for (size_t t = 0; t < ep_.steps.size(); ++t) {
      if (mode == ReplayMode::kOneStep && t > 0) {
        if (ep_.steps[t - 1].state.empty()) {
          throw Error("one-step mode needs 'state' in every step; step " + std::to_string(t - 1) +
                      " has none");
        }
        SetRecordedState(ep_.steps[t - 1].state, static_cast<int>(t));
      }
      if (!StepAndCompare(t) && mode != ReplayMode::kOneStep) {
        Problem("episode ended after " + std::to_string(t + 1) + " steps, recorded " +
                std::to_string(ep_.steps.size()));
        break;
      }
    }
    report_.passed = ok_;
  }

 private:
  const GoldenEpisode& ep_;
  double tol_;
  ReplayReport& report_;
  std::unique_ptr<env::Env> env_;
  env::TimeLimit* time_limit_ = nullptr;
  std::vector<float> obs_;  // our observation   (obs_dim)
  bool ok_ = true;
};

}  // namespace

std::vector<GoldenEpisode> LoadGolden(const std::string& path) {
  const json root = internal::ReadEpisodeArray(path);
  std::vector<GoldenEpisode> episodes;
  for (size_t i = 0; i < root.size(); ++i) {
    episodes.push_back(ParseEpisode(root[i], path + ": episode " + std::to_string(i)));
  }
  return episodes;
}

ReplayMode ParseReplayMode(const std::string& text) {
  if (text == "replay") return ReplayMode::kReplay;
  if (text == "one-step") return ReplayMode::kOneStep;
  if (text == "from-seed") return ReplayMode::kFromSeed;
  throw Error("--mode: expected replay, one-step or from-seed, got \"" + text + "\"");
}

ReplayReport ReplayEpisode(const GoldenEpisode& episode, ReplayMode mode, double tol, int index) {
  return internal::RunReplay<Replayer, GoldenEpisode, ReplayReport>(episode, mode, tol, index);
}

}  // namespace rlforge::io
