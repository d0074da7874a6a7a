// Multi-agent envs with PettingZoo's parallel semantics.
//
//   Reset(seed, obs)                                   -> every agent's first observation
//   Step(actions, obs, rewards, terminated, truncated) -> one world step for all agents
//   State(state)                                       -> the global state
//
// Agents are numbered in `possible_agents()` order. Observations go into one caller-owned block
// of num_agents x obs_stride floats (rows of agents whose observation is narrower are
// zero-padded); rewards and flags into num_agents slots. An agent that is terminated or truncated
// leaves the env (PettingZoo's `env.agents`); once none is left, Step throws until Reset.
//
// Envs with action masks (PettingZoo's info["action_mask"] / observation["action_mask"]) say
// which discrete actions each agent may take in the current state; Step refuses the others.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlforge/core/bytes.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/env/checker.h"
#include "rlforge/env/env.h"
#include "rlforge/env/registry.h"

namespace rlforge::env {

struct MultiAgentSpec {
  std::string id;      // PettingZoo name, e.g. simple_spread_v3
  int max_cycles = 0;  // world steps until every agent is truncated (0: none)
};

class MultiAgentEnv {
 public:
  virtual ~MultiAgentEnv() = default;

  const std::vector<std::string>& possible_agents() const { return agents_; }
  int num_agents() const { return static_cast<int>(agents_.size()); }
  const Space& observation_space(int agent) const { return obs_spaces_.at(agent); }
  const Space& action_space(int agent) const { return act_spaces_.at(agent); }
  int64_t obs_stride() const { return obs_stride_; }  // widest observation: one row of the block
  int64_t state_size() const { return state_size_; }  // every agent's observation, concatenated
  // The agent's index, or an Error naming the env and listing the agents.
  int AgentIndex(std::string_view name) const;
  bool alive(int agent) const { return alive_[static_cast<size_t>(agent)] != 0; }
  int num_alive() const;
  int64_t steps() const { return steps_; }  // world steps since Reset

  // Whether some actions are unavailable in some states; if not, every mask is all ones.
  virtual bool has_action_masks() const { return false; }
  // Flags of agent's mask: its discrete parts' cardinalities summed (0 for Box actions).
  int64_t action_mask_size(int agent) const { return act_spaces_.at(agent).MaskSize(); }
  // The agent's allowed actions in the current state (action_mask_size flags, 1 = allowed; the
  // discrete parts' masks concatenated), also at the end of an episode (for
  // bootstrapping); an agent that left with none allowed gets every action allowed.
  void ActionMask(int agent, uint8_t* mask) const;

  // Resets; a seed re-creates the env's np_random as PettingZoo's reset(seed=...) does.
  void Reset(std::optional<uint64_t> seed, float* obs);
  // One world step: actions[i] is agent i's action (agents that left are not read). Throws a
  // clear Error naming the agent for an action outside its space, and when no agent is left.
  void Step(std::span<const Action> actions, float* obs, double* rewards, uint8_t* terminated,
            uint8_t* truncated);
  // The same with actions by agent name: every agent still in the env must have one, and every
  // name must be an agent of this env (errors name the agent).
  void StepByName(const std::vector<std::pair<std::string, Action>>& actions, float* obs,
                  double* rewards, uint8_t* terminated, uint8_t* truncated);
  // Every agent's observation of the current state (num_agents x obs_stride).
  void Observe(float* obs) const;
  // state(): the concatenation of every agent's observation (state_size floats).
  void State(float* state) const;

  virtual Image Render() const = 0;
  // Physics state (positions, velocities, ...) and its setter (bookkeeping reset as by Reset).
  virtual std::vector<double> GetState() const = 0;
  virtual void SetState(std::span<const double> state) = 0;
  // Named per-step values beyond the reward (e.g. simple_spread's reward parts), per agent.
  const Info& info(int agent) const { return infos_.at(static_cast<size_t>(agent)); }

  // Everything needed to continue bit-exactly: RNG, state, step counter, who is left.
  void SaveSnapshot(ByteWriter& out) const;
  void LoadSnapshot(ByteReader& in);

  const MultiAgentSpec& spec() const { return spec_; }
  void set_max_cycles(int max_cycles) { spec_.max_cycles = max_cycles; }

 protected:
  // Declares the agents and their spaces (observations must be float32 Boxes).
  void DeclareAgents(std::vector<std::string> names, std::vector<Space> observation_spaces,
                     std::vector<Space> action_spaces);
  virtual void ResetWorld() = 0;                                  // draw the initial state
  virtual void Advance(std::span<const Action> actions) = 0;      // one world step
  virtual void Reward(double* rewards) = 0;                       // of the state after Advance
  virtual bool Terminated(int /*agent*/) const { return false; }  // the agent's episode is over
  virtual void ObserveAgent(int agent, float* obs) const = 0;     // observation_space(agent).size()
  // With has_action_masks: clears the flags of the actions the agent may not take now (the mask
  // comes in all ones).
  virtual void MaskActions(int /*agent*/, uint8_t* /*mask*/) const {}

  Rng np_random_;  // the env's own random source
  bool seeded_ = false;
  MultiAgentSpec spec_;
  std::vector<Info> infos_;  // per agent

 private:
  std::vector<std::string> agents_;  // possible_agents         (N)
  std::vector<Space> obs_spaces_;    // observation spaces      (N)
  std::vector<Space> act_spaces_;    // action spaces           (N)
  int64_t obs_stride_ = 0;
  int64_t state_size_ = 0;
  std::vector<uint8_t> alive_;          // agent still in env.agents   (N)
  std::vector<Action> named_actions_;   // StepByName's actions by index   (N)
  std::vector<uint8_t> named_present_;  // StepByName: agent given        (N)
  std::vector<uint8_t> mask_;           // one agent's action mask, checked by Step   (mask size)
  int64_t steps_ = 0;
};

// Registration of a multi-agent env (PettingZoo names; kwargs as for single-agent envs).
struct MultiAgentEntry {
  MultiAgentSpec spec;
  std::string description;  // one line
  std::vector<KwargSpec> kwargs;
  std::function<std::unique_ptr<MultiAgentEnv>(const KwargReader&)> factory;
};

void RegisterMultiAgent(MultiAgentEntry entry);
std::vector<std::string> MultiAgentIds();
bool IsMultiAgent(const std::string& id);
const MultiAgentEntry& LookupMultiAgent(const std::string& id);  // Error with suggestions
// Creates the env with validated kwargs (unknown name or wrong type = Error); render_mode
// ("rgb_array") is accepted too.
std::unique_ptr<MultiAgentEnv> MakeMultiAgent(const std::string& id, const Kwargs& kwargs = {});

// E multi-agent envs stepped together, every quantity in one block (E x N x ...). An env whose
// agents have all left is reset in the same Step (autoreset); its last observations, state and
// per-agent returns are kept in the final_* blocks for bootstrapping and statistics.
class MultiAgentVectorEnv {
 public:
  explicit MultiAgentVectorEnv(std::vector<std::unique_ptr<MultiAgentEnv>> envs);

  int num_envs() const { return static_cast<int>(envs_.size()); }
  int num_agents() const { return n_; }
  int64_t obs_stride() const { return stride_; }
  int64_t state_size() const { return state_size_; }
  MultiAgentEnv& env(int i) { return *envs_[static_cast<size_t>(i)]; }
  const MultiAgentEnv& env(int i) const { return *envs_[static_cast<size_t>(i)]; }
  int64_t num_discrete() const { return nd_; }    // widest discrete action over agents
  int64_t num_continuous() const { return nc_; }  // widest continuous action over agents
  bool has_action_masks() const { return masked_; }
  int64_t mask_stride() const { return mask_stride_; }  // widest action mask over agents

  // Resets env i with seed + i; action sampling is seeded from it too.
  void Reset(uint64_t seed);
  // Steps every env with the actions in the action blocks.
  void Step();
  // Uniform random actions among the allowed ones into the action blocks (per-env generators).
  void SampleActions();

  const float* observations() const { return obs_.data(); }               // (E x N x stride)
  const float* states() const { return state_.data(); }                   // (E x state_size)
  const float* final_observations() const { return final_obs_.data(); }   // (E x N x stride)
  const float* final_states() const { return final_state_.data(); }       // (E x state_size)
  const double* rewards() const { return rewards_.data(); }               // (E x N)
  const uint8_t* terminated() const { return terminated_.data(); }        // (E x N)
  const uint8_t* truncated() const { return truncated_.data(); }          // (E x N)
  const uint8_t* has_final() const { return has_final_.data(); }          // (E)
  const double* final_returns() const { return final_returns_.data(); }   // (E x N) where has_final
  const int64_t* final_lengths() const { return final_lengths_.data(); }  // (E) where has_final
  // Allowed actions now and at the end of ended episodes, with has_action_masks (all ones else).
  const uint8_t* action_masks() const { return masks_.data(); }  // (E x N x mask_stride)
  const uint8_t* final_action_masks() const { return final_masks_.data(); }  // the same
  int64_t* discrete_actions() { return discrete_.data(); }    // (E x N x num_discrete)
  float* continuous_actions() { return continuous_.data(); }  // (E x N x num_continuous)

  void SaveSnapshot(ByteWriter& out) const;
  void LoadSnapshot(ByteReader& in);

 private:
  Action ActionOf(int e, int agent) const;
  void UpdateMasks(int e);  // env e's current masks into its rows of masks_

  std::vector<std::unique_ptr<MultiAgentEnv>> envs_;
  int n_ = 0;
  int64_t stride_ = 0, state_size_ = 0, nd_ = 0, nc_ = 0, mask_stride_ = 0;
  bool masked_ = false;
  std::vector<float> obs_;              // current observations          (E x N x stride)
  std::vector<float> state_;            // current global states         (E x state_size)
  std::vector<float> final_obs_;        // last observations of ended episodes   (E x N x stride)
  std::vector<float> final_state_;      // last states of ended episodes (E x state_size)
  std::vector<double> rewards_;         // rewards of the last step      (E x N)
  std::vector<uint8_t> terminated_;     // terminations of the last step (E x N)
  std::vector<uint8_t> truncated_;      // truncations of the last step  (E x N)
  std::vector<uint8_t> has_final_;      // env ended on the last step    (E)
  std::vector<double> returns_;         // running per-agent returns     (E x N)
  std::vector<int64_t> lengths_;        // running episode lengths       (E)
  std::vector<double> final_returns_;   // per-agent returns of ended episodes   (E x N)
  std::vector<int64_t> final_lengths_;  // lengths of ended episodes    (E)
  std::vector<int64_t> discrete_;       // actions, discrete part        (E x N x num_discrete)
  std::vector<float> continuous_;       // actions, continuous part      (E x N x num_continuous)
  std::vector<uint8_t> masks_;          // allowed actions now           (E x N x mask_stride)
  std::vector<uint8_t> final_masks_;    // allowed at the end of ended episodes   (the same)
  std::vector<Action> step_actions_;    // one env's actions as views    (N)
  std::vector<Rng> action_rngs_;        // per-env action samplers       (E)
};

std::unique_ptr<MultiAgentVectorEnv> MakeMultiAgentVector(const std::string& id, int num_envs,
                                                          const Kwargs& kwargs = {});

// A multi-agent env seen as one agent acting for all, for evaluation episodes, videos and
// reports: the observation is the agents x obs_stride block, the action every agent's action in
// agent order (their heads as one MultiDiscrete, or one Box), the reward the sum over the agents
// over their number (agents that left add 0: returns are PettingZoo's per-agent scale), and the
// episode ends when no agent is left (terminated if they all terminated). info has each agent's
// reward as "<agent>/reward". Every agent must have the same action space.
class JointEnv final : public Env {
 public:
  explicit JointEnv(std::unique_ptr<MultiAgentEnv> env);

  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void Observe(void* obs) const override { env_->Observe(static_cast<float*>(obs)); }
  Image Render() const override { return env_->Render(); }
  std::vector<double> GetState() const override { return env_->GetState(); }
  void SetState(std::span<const double> state) override { env_->SetState(state); }
  void SaveSnapshot(ByteWriter& out) const override { env_->SaveSnapshot(out); }
  void LoadSnapshot(ByteReader& in) override { env_->LoadSnapshot(in); }
  MultiAgentEnv& multi_agent() { return *env_; }

 private:
  std::unique_ptr<MultiAgentEnv> env_;
  Space observation_space_, action_space_;
  int64_t nd_ = 0, nc_ = 0;      // one agent's discrete and continuous action widths
  std::vector<Action> actions_;  // the joint action split by agent   (N)
  std::vector<double> rewards_;  // (N)
  std::vector<uint8_t> terminated_, truncated_;  // (N)
  std::vector<std::string> reward_keys_;         // "<agent>/reward"   (N)
};

// The joint view of a registered multi-agent env (errors as MakeMultiAgent's).
std::unique_ptr<Env> MakeJoint(const std::string& id, const Kwargs& kwargs = {});

// PettingZoo's parallel_api_test in spirit: spaces, reset/step shapes, agents leaving, state(),
// determinism for a seed, snapshots, bad actions refused. Failures are listed, not thrown.
CheckReport CheckMultiAgentEnv(const std::function<std::unique_ptr<MultiAgentEnv>()>& make,
                               int steps = 200);

}  // namespace rlforge::env
