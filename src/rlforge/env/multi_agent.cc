#include "rlforge/env/multi_agent.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::env {

// ---- MultiAgentEnv ----------------------------------------------------------------------------

void MultiAgentEnv::DeclareAgents(std::vector<std::string> names,
                                  std::vector<Space> observation_spaces,
                                  std::vector<Space> action_spaces) {
  agents_ = std::move(names);
  obs_spaces_ = std::move(observation_spaces);
  act_spaces_ = std::move(action_spaces);
  obs_stride_ = state_size_ = 0;
  for (const Space& s : obs_spaces_) {
    obs_stride_ = std::max(obs_stride_, s.size());
    state_size_ += s.size();
  }
  const size_t n = agents_.size();
  alive_.assign(n, 0);
  infos_.assign(n, Info());
  named_actions_.assign(n, Action{});
  named_present_.assign(n, 0);
  int64_t widest_mask = 0;
  for (const Space& s : act_spaces_) widest_mask = std::max(widest_mask, s.MaskSize());
  mask_.assign(static_cast<size_t>(widest_mask), 1);
}

void MultiAgentEnv::ActionMask(int agent, uint8_t* mask) const {
  const Space& space = act_spaces_.at(static_cast<size_t>(agent));
  const int64_t size = space.MaskSize();
  std::fill_n(mask, size, uint8_t{1});
  if (!has_action_masks()) return;
  MaskActions(agent, mask);
  for (size_t part = 0, at = 0; part < space.nvec().size(); at += space.nvec()[part++]) {
    if (std::any_of(mask + at, mask + at + space.nvec()[part], [](uint8_t f) { return f != 0; }))
      continue;
    // an agent that left may have nothing left to do: then nothing is masked
    if (!alive(agent)) {
      std::fill_n(mask, size, uint8_t{1});
      return;
    }
    throw Error(spec_.id + ": the action mask of " + agents_[static_cast<size_t>(agent)] +
                " allows no action" +
                (space.nvec().size() > 1 ? " of part " + std::to_string(part) : ""));
  }
}

namespace {

// Empty if every discrete part of `a` is allowed by `mask`, else which value is not.
std::string MaskedOut(const Space& space, const uint8_t* mask, const Action& a) {
  for (size_t part = 0, at = 0; part < space.nvec().size(); at += space.nvec()[part++]) {
    const int64_t value = a.discrete[part], j = value - space.start();
    if (mask[at + static_cast<size_t>(j)] != 0) continue;
    std::string allowed;
    for (int64_t k = 0; k < space.nvec()[part]; ++k) {
      if (mask[at + static_cast<size_t>(k)])
        allowed += (allowed.empty() ? "" : ", ") + std::to_string(k + space.start());
    }
    return "action " + std::to_string(value) +
           (space.nvec().size() > 1 ? " of part " + std::to_string(part) : "") +
           " is masked out in this state (allowed: " + allowed + ")";
  }
  return {};
}

}  // namespace

int MultiAgentEnv::AgentIndex(std::string_view name) const {
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (agents_[i] == name) return static_cast<int>(i);
  }
  std::string known;
  for (const auto& a : agents_) known += (known.empty() ? "" : ", ") + a;
  throw Error(spec_.id + ": unknown agent '" + std::string(name) + "' (agents: " + known + ")");
}

int MultiAgentEnv::num_alive() const {
  return static_cast<int>(std::count(alive_.begin(), alive_.end(), uint8_t{1}));
}

void MultiAgentEnv::Reset(std::optional<uint64_t> seed, float* obs) {
  SeedNpRandom(seed, np_random_, seeded_);
  ResetWorld();
  steps_ = 0;
  std::fill(alive_.begin(), alive_.end(), uint8_t{1});
  for (Info& info : infos_) info.Clear();
  Observe(obs);
}

void MultiAgentEnv::Step(std::span<const Action> actions, float* obs, double* rewards,
                         uint8_t* terminated, uint8_t* truncated) {
  const int n = num_agents();
  if (num_alive() == 0)
    throw Error(spec_.id + ": step() with no agent left: every agent is done, call reset()");
  if (static_cast<int>(actions.size()) != n)
    throw Error(spec_.id + ": expected " + std::to_string(n) + " actions (one per agent), got " +
                std::to_string(actions.size()));
  for (int i = 0; i < n; ++i) {
    if (!alive(i)) continue;
    const std::string why =
        act_spaces_[static_cast<size_t>(i)].Check(actions[static_cast<size_t>(i)]);
    if (!why.empty())
      throw Error(spec_.id + ": action of " + agents_[static_cast<size_t>(i)] + " is not in " +
                  act_spaces_[static_cast<size_t>(i)].ToString() + ": " + why);
    if (!has_action_masks()) continue;
    ActionMask(i, mask_.data());
    const std::string masked = MaskedOut(act_spaces_[static_cast<size_t>(i)], mask_.data(),
                                         actions[static_cast<size_t>(i)]);
    if (!masked.empty())
      throw Error(spec_.id + ": " + agents_[static_cast<size_t>(i)] + "'s " + masked);
  }
  for (Info& info : infos_) info.Clear();
  Advance(actions);
  ++steps_;
  Reward(rewards);
  const bool out_of_time = spec_.max_cycles > 0 && steps_ >= spec_.max_cycles;
  Observe(obs);
  for (int i = 0; i < n; ++i) {
    terminated[i] = alive(i) && Terminated(i);
    truncated[i] = alive(i) && out_of_time;
    if (!alive(i)) rewards[i] = 0.0;
  }
  for (int i = 0; i < n; ++i) {
    if (terminated[i] || truncated[i]) alive_[static_cast<size_t>(i)] = 0;
  }
}

void MultiAgentEnv::StepByName(const std::vector<std::pair<std::string, Action>>& actions,
                               float* obs, double* rewards, uint8_t* terminated,
                               uint8_t* truncated) {
  std::fill(named_present_.begin(), named_present_.end(), uint8_t{0});
  for (const auto& [name, action] : actions) {
    const int i = AgentIndex(name);
    if (named_present_[static_cast<size_t>(i)])
      throw Error(spec_.id + ": two actions for agent " + name);
    if (!alive(i)) throw Error(spec_.id + ": agent " + name + " is done and has left the env");
    named_present_[static_cast<size_t>(i)] = 1;
    named_actions_[static_cast<size_t>(i)] = action;
  }
  for (int i = 0; i < num_agents(); ++i) {
    if (alive(i) && !named_present_[static_cast<size_t>(i)])
      throw Error(spec_.id + ": no action for agent " + agents_[static_cast<size_t>(i)] +
                  " (every agent still in the env needs one)");
  }
  Step(named_actions_, obs, rewards, terminated, truncated);
}

void MultiAgentEnv::Observe(float* obs) const {
  for (int i = 0; i < num_agents(); ++i) {
    float* row = obs + static_cast<size_t>(i) * static_cast<size_t>(obs_stride_);
    const int64_t width = obs_spaces_[static_cast<size_t>(i)].size();
    ObserveAgent(i, row);
    std::fill(row + width, row + obs_stride_, 0.0f);
  }
}

void MultiAgentEnv::State(float* state) const {
  for (int i = 0; i < num_agents(); ++i) {
    ObserveAgent(i, state);
    state += obs_spaces_[static_cast<size_t>(i)].size();
  }
}

void MultiAgentEnv::SaveSnapshot(ByteWriter& out) const {
  out.PutString(np_random_.Serialize());
  out.Put<uint8_t>(seeded_);
  out.PutVector(GetState());
  out.Put<int64_t>(steps_);
  out.PutVector(alive_);
}

void MultiAgentEnv::LoadSnapshot(ByteReader& in) {
  Rng rng;
  rng.Deserialize(in.GetString());
  const bool seeded = in.Get<uint8_t>() != 0;
  SetState(in.GetVector<double>());
  const auto steps = in.Get<int64_t>();
  auto alive = in.GetVector<uint8_t>();
  if (alive.size() != alive_.size() || steps < 0)
    throw Error(spec_.id + ": snapshot has " + std::to_string(alive.size()) + " agents, expected " +
                std::to_string(alive_.size()));
  np_random_ = rng;
  seeded_ = seeded;
  steps_ = steps;
  alive_ = std::move(alive);
}

// ---- MultiAgentVectorEnv ----------------------------------------------------------------------

MultiAgentVectorEnv::MultiAgentVectorEnv(std::vector<std::unique_ptr<MultiAgentEnv>> envs)
    : envs_(std::move(envs)) {
  if (envs_.empty()) throw Error("MultiAgentVectorEnv: expected at least one env");
  const MultiAgentEnv& first = *envs_[0];
  n_ = first.num_agents();
  stride_ = first.obs_stride();
  state_size_ = first.state_size();
  for (int i = 0; i < n_; ++i) {
    nd_ = std::max(nd_, first.action_space(i).num_discrete());
    nc_ = std::max(nc_, first.action_space(i).num_continuous());
    mask_stride_ = std::max(mask_stride_, first.action_mask_size(i));
  }
  masked_ = first.has_action_masks();
  const auto e = envs_.size(), n = static_cast<size_t>(n_);
  obs_.assign(e * n * static_cast<size_t>(stride_), 0.0f);
  final_obs_ = obs_;
  state_.assign(e * static_cast<size_t>(state_size_), 0.0f);
  final_state_ = state_;
  rewards_.assign(e * n, 0.0);
  terminated_.assign(e * n, 0);
  truncated_.assign(e * n, 0);
  has_final_.assign(e, 0);
  returns_.assign(e * n, 0.0);
  final_returns_.assign(e * n, 0.0);
  lengths_.assign(e, 0);
  final_lengths_.assign(e, 0);
  discrete_.assign(e * n * static_cast<size_t>(nd_), 0);
  continuous_.assign(e * n * static_cast<size_t>(nc_), 0.0f);
  masks_.assign(e * n * static_cast<size_t>(mask_stride_), 1);
  final_masks_ = masks_;
  step_actions_.assign(n, Action{});
  action_rngs_.assign(e, Rng(0));
}

Action MultiAgentVectorEnv::ActionOf(int e, int agent) const {
  const size_t row = static_cast<size_t>(e) * static_cast<size_t>(n_) + static_cast<size_t>(agent);
  const Space& space = envs_[static_cast<size_t>(e)]->action_space(agent);
  return Action{{discrete_.data() + row * static_cast<size_t>(nd_),
                 static_cast<size_t>(space.num_discrete())},
                {continuous_.data() + row * static_cast<size_t>(nc_),
                 static_cast<size_t>(space.num_continuous())}};
}

void MultiAgentVectorEnv::UpdateMasks(int e) {
  if (!masked_) return;
  for (int i = 0; i < n_; ++i) {
    const size_t row = static_cast<size_t>(e) * n_ + static_cast<size_t>(i);
    envs_[static_cast<size_t>(e)]->ActionMask(i, &masks_[row * mask_stride_]);
  }
}

void MultiAgentVectorEnv::Reset(uint64_t seed) {
  for (int e = 0; e < num_envs(); ++e) {
    MultiAgentEnv& env = *envs_[static_cast<size_t>(e)];
    env.Reset(seed + static_cast<uint64_t>(e), &obs_[static_cast<size_t>(e) * n_ * stride_]);
    env.State(&state_[static_cast<size_t>(e) * state_size_]);
    UpdateMasks(e);
    action_rngs_[static_cast<size_t>(e)] = Rng(seed + static_cast<uint64_t>(e));
    lengths_[static_cast<size_t>(e)] = 0;
  }
  std::fill(returns_.begin(), returns_.end(), 0.0);
  std::fill(has_final_.begin(), has_final_.end(), uint8_t{0});
}

void MultiAgentVectorEnv::SampleActions() {
  for (int e = 0; e < num_envs(); ++e) {
    for (int i = 0; i < n_; ++i) {
      const size_t row = static_cast<size_t>(e) * n_ + static_cast<size_t>(i);
      const Space& space = envs_[static_cast<size_t>(e)]->action_space(i);
      space.SampleMasked(
          action_rngs_[static_cast<size_t>(e)], masked_ ? &masks_[row * mask_stride_] : nullptr,
          {discrete_.data() + row * nd_, static_cast<size_t>(space.num_discrete())},
          {continuous_.data() + row * nc_, static_cast<size_t>(space.num_continuous())});
    }
  }
}

void MultiAgentVectorEnv::Step() {
  for (int e = 0; e < num_envs(); ++e) {
    MultiAgentEnv& env = *envs_[static_cast<size_t>(e)];
    const size_t row = static_cast<size_t>(e) * n_;
    float* obs = &obs_[row * stride_];
    float* state = &state_[static_cast<size_t>(e) * state_size_];
    for (int i = 0; i < n_; ++i) step_actions_[static_cast<size_t>(i)] = ActionOf(e, i);
    env.Step(step_actions_, obs, &rewards_[row], &terminated_[row], &truncated_[row]);
    env.State(state);
    ++lengths_[static_cast<size_t>(e)];
    for (int i = 0; i < n_; ++i) returns_[row + i] += rewards_[row + i];
    UpdateMasks(e);
    has_final_[static_cast<size_t>(e)] = env.num_alive() == 0;
    if (!has_final_[static_cast<size_t>(e)]) continue;
    std::copy(obs, obs + n_ * stride_, &final_obs_[row * stride_]);
    if (masked_)
      std::copy_n(&masks_[row * mask_stride_], n_ * mask_stride_,
                  &final_masks_[row * mask_stride_]);
    std::copy(state, state + state_size_, &final_state_[static_cast<size_t>(e) * state_size_]);
    std::copy(&returns_[row], &returns_[row] + n_, &final_returns_[row]);
    std::fill(&returns_[row], &returns_[row] + n_, 0.0);
    final_lengths_[static_cast<size_t>(e)] = lengths_[static_cast<size_t>(e)];
    lengths_[static_cast<size_t>(e)] = 0;
    env.Reset(std::nullopt, obs);
    env.State(state);
    UpdateMasks(e);
  }
}

void MultiAgentVectorEnv::SaveSnapshot(ByteWriter& out) const {
  for (const auto& env : envs_) env->SaveSnapshot(out);
  out.PutVector(obs_);
  out.PutVector(state_);
  out.PutVector(returns_);
  out.PutVector(lengths_);
  for (const Rng& rng : action_rngs_) out.PutString(rng.Serialize());
}

void MultiAgentVectorEnv::LoadSnapshot(ByteReader& in) {
  for (auto& env : envs_) env->LoadSnapshot(in);
  auto obs = in.GetVector<float>();
  auto state = in.GetVector<float>();
  auto returns = in.GetVector<double>();
  auto lengths = in.GetVector<int64_t>();
  if (obs.size() != obs_.size() || state.size() != state_.size() ||
      returns.size() != returns_.size() || lengths.size() != lengths_.size())
    throw Error("multi-agent vector env snapshot: block sizes differ from this env's");
  obs_ = std::move(obs), state_ = std::move(state);
  returns_ = std::move(returns), lengths_ = std::move(lengths);
  for (Rng& rng : action_rngs_) rng.Deserialize(in.GetString());
  std::fill(has_final_.begin(), has_final_.end(), uint8_t{0});
  for (int e = 0; e < num_envs(); ++e) UpdateMasks(e);
}

std::unique_ptr<MultiAgentVectorEnv> MakeMultiAgentVector(const std::string& id, int num_envs,
                                                          const Kwargs& kwargs) {
  if (num_envs < 1)
    throw Error("num_envs: expected a positive integer, got " + std::to_string(num_envs));
  std::vector<std::unique_ptr<MultiAgentEnv>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(MakeMultiAgent(id, kwargs));
  return std::make_unique<MultiAgentVectorEnv>(std::move(envs));
}

// ---- JointEnv ---------------------------------------------------------------------------------

JointEnv::JointEnv(std::unique_ptr<MultiAgentEnv> env) : env_(std::move(env)) {
  const int n = env_->num_agents();
  const Space& first = env_->action_space(0);
  for (int i = 1; i < n; ++i) {
    if (!(env_->action_space(i) == first))
      throw Error(env_->spec().id + ": the joint view needs one action space for every agent; " +
                  env_->possible_agents()[static_cast<size_t>(i)] + " has " +
                  env_->action_space(i).ToString() + ", " + env_->possible_agents()[0] + " " +
                  first.ToString());
  }
  observation_space_ = Space::Box(-INFINITY, INFINITY, {n * env_->obs_stride()});
  nd_ = first.num_discrete(), nc_ = first.num_continuous();
  if (first.is_continuous()) {
    std::vector<double> low, high;
    for (int i = 0; i < n; ++i) {
      low.insert(low.end(), first.low().begin(), first.low().end());
      high.insert(high.end(), first.high().begin(), first.high().end());
    }
    action_space_ = Space::Box(low, high, {n * nc_});
  } else if (first.kind() == Space::Kind::kDiscrete ||
             first.kind() == Space::Kind::kMultiDiscrete) {
    if (first.start() != 0) throw Error(env_->spec().id + ": the joint view needs actions from 0");
    std::vector<int64_t> nvec;
    for (int i = 0; i < n; ++i) nvec.insert(nvec.end(), first.nvec().begin(), first.nvec().end());
    action_space_ = Space::MultiDiscrete(nvec);
  } else {
    throw Error(env_->spec().id + ": the joint view does not take " + first.ToString() +
                " actions");
  }
  actions_.resize(static_cast<size_t>(n));
  rewards_.resize(static_cast<size_t>(n));
  terminated_.resize(static_cast<size_t>(n)), truncated_.resize(static_cast<size_t>(n));
  for (const auto& agent : env_->possible_agents()) reward_keys_.push_back(agent + "/reward");
  set_spec(EnvSpec{env_->spec().id, env_->spec().max_cycles, std::nullopt});
}

void JointEnv::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, static_cast<float*>(obs));
  info_.Clear();
}

StepResult JointEnv::Step(const Action& action, void* obs) {
  const int n = env_->num_agents();
  if (static_cast<int64_t>(action.discrete.size()) != n * nd_ ||
      static_cast<int64_t>(action.continuous.size()) != n * nc_)
    throw Error(spec().id + ": expected a joint action of " + action_space_.ToString());
  for (int i = 0; i < n; ++i) {
    actions_[static_cast<size_t>(i)] = {
        action.discrete.subspan(static_cast<size_t>(i * nd_), nd_),
        action.continuous.subspan(static_cast<size_t>(i * nc_), nc_)};
  }
  env_->Step(actions_, static_cast<float*>(obs), rewards_.data(), terminated_.data(),
             truncated_.data());
  StepResult r;
  info_.Clear();
  bool all_terminated = true;
  for (int i = 0; i < n; ++i) {
    r.reward += rewards_[static_cast<size_t>(i)] / n;
    all_terminated = all_terminated && terminated_[static_cast<size_t>(i)];
    info_.Set(reward_keys_[static_cast<size_t>(i)], rewards_[static_cast<size_t>(i)]);
  }
  const bool over = env_->num_alive() == 0;
  r.terminated = over && all_terminated;
  r.truncated = over && !all_terminated;
  return r;
}

std::unique_ptr<Env> MakeJoint(const std::string& id, const Kwargs& kwargs) {
  return std::make_unique<JointEnv>(MakeMultiAgent(id, kwargs));
}

// ---- checker ----------------------------------------------------------------------------------

namespace {

// Runs one episode of at most `steps` world steps with actions from `rng`, recording every
// observation, reward and flag.
std::vector<double> Rollout(MultiAgentEnv& env, uint64_t seed, int steps, CheckReport& report) {
  const int n = env.num_agents();
  std::vector<float> obs(static_cast<size_t>(n * env.obs_stride()));
  std::vector<double> rewards(static_cast<size_t>(n)), trace;
  std::vector<uint8_t> term(static_cast<size_t>(n)), trunc(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> discrete(static_cast<size_t>(n));
  std::vector<std::vector<float>> continuous(static_cast<size_t>(n));
  std::vector<Action> actions(static_cast<size_t>(n));
  std::vector<uint8_t> mask;
  Rng rng(seed);
  env.Reset(seed, obs.data());
  trace.assign(obs.begin(), obs.end());
  for (int t = 0; t < steps && env.num_alive() > 0; ++t) {
    for (int i = 0; i < n; ++i) {
      const Space& space = env.action_space(i);
      discrete[i].resize(static_cast<size_t>(space.num_discrete()));
      continuous[i].resize(static_cast<size_t>(space.num_continuous()));
      mask.resize(static_cast<size_t>(env.action_mask_size(i)));
      env.ActionMask(i, mask.data());
      space.SampleMasked(rng, env.has_action_masks() ? mask.data() : nullptr, discrete[i],
                         continuous[i]);
      actions[i] = Action{discrete[i], continuous[i]};
    }
    env.Step(actions, obs.data(), rewards.data(), term.data(), trunc.data());
    for (int i = 0; i < n; ++i) {
      const int64_t width = env.observation_space(i).size();
      for (int64_t k = 0; k < width; ++k) {
        if (!std::isfinite(obs[static_cast<size_t>(i * env.obs_stride() + k)])) {
          report.failures.push_back("observation of " + env.possible_agents()[i] +
                                    " is not finite at step " + std::to_string(t));
          return trace;
        }
      }
      if (!std::isfinite(rewards[i]))
        report.failures.push_back("reward of " + env.possible_agents()[i] + " is not finite");
      if ((term[i] || trunc[i]) && env.alive(i))
        report.failures.push_back(env.possible_agents()[i] + " is done but did not leave");
    }
    trace.insert(trace.end(), obs.begin(), obs.end());
    trace.insert(trace.end(), rewards.begin(), rewards.end());
    trace.insert(trace.end(), term.begin(), term.end());
    trace.insert(trace.end(), trunc.begin(), trunc.end());
  }
  return trace;
}

// With action masks: over an episode, an action a mask forbids is refused, and the allowed ones
// are taken (Step with them succeeds).
void CheckMasksRefused(MultiAgentEnv& env, CheckReport& report) {
  const int n = env.num_agents();
  std::vector<float> obs(static_cast<size_t>(n * env.obs_stride()));
  std::vector<double> rewards(static_cast<size_t>(n));
  std::vector<uint8_t> term(static_cast<size_t>(n)), trunc(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> discrete(static_cast<size_t>(n));
  std::vector<std::vector<float>> continuous(static_cast<size_t>(n));
  std::vector<std::vector<uint8_t>> masks(static_cast<size_t>(n));
  std::vector<Action> actions(static_cast<size_t>(n));
  Rng rng(11);
  env.Reset(11, obs.data());
  bool refused = false, tried = false;
  while (env.num_alive() > 0) {
    for (int i = 0; i < n; ++i) {
      const Space& space = env.action_space(i);
      masks[i].resize(static_cast<size_t>(env.action_mask_size(i)));
      env.ActionMask(i, masks[i].data());
      discrete[i].resize(static_cast<size_t>(space.num_discrete()));
      continuous[i].resize(static_cast<size_t>(space.num_continuous()));
      space.SampleMasked(rng, masks[i].data(), discrete[i], continuous[i]);
      actions[i] = Action{discrete[i], continuous[i]};
    }
    for (int i = 0; i < n && !tried; ++i) {  // the first forbidden action of an agent still in
      const auto off = std::find(masks[i].begin(), masks[i].end(), uint8_t{0});
      if (!env.alive(i) || off == masks[i].end() || env.action_space(i).nvec().size() != 1)
        continue;
      const int64_t kept = discrete[i][0];
      discrete[i][0] = (off - masks[i].begin()) + env.action_space(i).start();
      tried = true;
      try {
        env.Step(actions, obs.data(), rewards.data(), term.data(), trunc.data());
      } catch (const Error&) {
        refused = true;
      }
      discrete[i][0] = kept;
    }
    if (tried && !refused) break;
    env.Step(actions, obs.data(), rewards.data(), term.data(), trunc.data());
  }
  if (tried) (refused ? report.passed : report.failures).push_back("masked actions are refused");
}

}  // namespace

CheckReport CheckMultiAgentEnv(const std::function<std::unique_ptr<MultiAgentEnv>()>& make,
                               int steps) {
  CheckReport report;
  auto env = make();
  const int n = env->num_agents();
  if (n < 1) {
    report.failures.push_back("no agents");
    return report;
  }
  bool spaces_ok = true;
  for (int i = 0; i < n; ++i) {
    const Space& s = env->observation_space(i);
    if (s.kind() != Space::Kind::kBox || s.dtype() != DType::kFloat32) spaces_ok = false;
  }
  (spaces_ok ? report.passed : report.failures).push_back("observation spaces are float32 Boxes");

  const std::vector<double> a = Rollout(*env, 7, steps, report);
  (env->num_alive() == 0 || env->spec().max_cycles == 0 || steps < env->spec().max_cycles
       ? report.passed
       : report.failures)
      .push_back("every agent leaves when done");
  auto other = make();
  const std::vector<double> b = Rollout(*other, 7, steps, report);
  (a == b ? report.passed : report.failures).push_back("same seed, same episode");

  // a snapshot taken mid-episode continues like the original
  std::vector<float> obs(static_cast<size_t>(n * env->obs_stride()));
  env->Reset(3, obs.data());
  ByteWriter writer;
  env->SaveSnapshot(writer);
  const std::vector<double> from_env = env->GetState();
  auto copy = make();
  ByteReader reader(writer.bytes());
  copy->LoadSnapshot(reader);
  (copy->GetState() == from_env ? report.passed : report.failures)
      .push_back("snapshots restore the state");

  // state() is every observation, concatenated
  std::vector<float> state(static_cast<size_t>(env->state_size()));
  env->State(state.data());
  bool concat = true;
  int64_t at = 0;
  for (int i = 0; i < n; ++i) {
    for (int64_t k = 0; k < env->observation_space(i).size(); ++k)
      concat &=
          state[static_cast<size_t>(at++)] == obs[static_cast<size_t>(i * env->obs_stride() + k)];
  }
  (concat ? report.passed : report.failures).push_back("state() concatenates the observations");

  // an action outside the space is refused with an Error
  std::vector<Action> bad(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> discrete(static_cast<size_t>(n));
  std::vector<std::vector<float>> continuous(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Space& s = env->action_space(i);
    discrete[i].assign(static_cast<size_t>(s.num_discrete()), 1'000'000);
    continuous[i].assign(static_cast<size_t>(s.num_continuous()), NAN);
    bad[i] = Action{discrete[i], continuous[i]};
  }
  std::vector<double> rewards(static_cast<size_t>(n));
  std::vector<uint8_t> term(static_cast<size_t>(n)), trunc(static_cast<size_t>(n));
  try {
    env->Step(bad, obs.data(), rewards.data(), term.data(), trunc.data());
    report.failures.push_back("an action outside the space was accepted");
  } catch (const Error&) {
    report.passed.push_back("actions outside the space are refused");
  }
  if (env->has_action_masks()) CheckMasksRefused(*env, report);
  return report;
}

}  // namespace rlforge::env
