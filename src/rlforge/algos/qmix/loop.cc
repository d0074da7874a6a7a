// VDN's, QMIX's and independent DQN's run on multi-agent envs: every agent acts epsilon-greedily
// from its own observation, each vector step's transitions (per-agent observations and next
// observations, the global state before and after, actions, individual and team rewards,
// termination apart from truncation) go into one FlexibleBuffer shared by the envs, and every
// train_frequency steps a uniform batch of transitions trains the agents and the mixer on the TD
// loss. The math is in qmix.cc. With action masks the agents explore and maximize over the
// allowed actions only (the next step's masks kept for the targets); an agent out of the env
// adds nothing to the mix.
#include <algorithm>
#include <cstring>

#include "rlforge/algos/builtin.h"
#include "rlforge/algos/qmix/qmix.h"
#include "rlforge/buffers/flexible_buffer.h"
#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/train/envs.h"

namespace rlforge::algos {
namespace {

class QmixRun final : public train::Algorithm {
 public:
  explicit QmixRun(const train::TrainConfig& config)
      : config_(config),
        c_(config_.qmix),
        envs_(env::MakeMultiAgentVector(config.env.id, config.env.num_envs,
                                        train::EnvKwargs(config.env))),
        E_(envs_->num_envs()),
        N_(envs_->num_agents()),
        stride_(envs_->obs_stride()),
        state_size_(envs_->state_size()),
        ids_(c_.agent_id ? N_ : 0),
        in_dim_(stride_ + ids_),
        ms_(envs_->has_action_masks() ? envs_->mask_stride() : 0),
        iterations_(std::max<int64_t>(1, config.total_timesteps / E_)),
        replay_(c_.buffer_size, N_, Fields(), static_cast<uint64_t>(config.seed)) {
    envs_->Reset(static_cast<uint64_t>(config.seed));
    f_ = {replay_.FieldId("obs"),
          replay_.FieldId("obs_"),
          replay_.FieldId("state"),
          replay_.FieldId("state_"),
          replay_.FieldId("discrete_actions"),
          replay_.FieldId("individual_rewards"),
          replay_.FieldId("global_rewards"),
          replay_.FieldId("active"),
          replay_.FieldId("active_")};
    if (ms_ > 0)
      f_.mask = replay_.FieldId("action_mask"), f_.next_mask = replay_.FieldId("action_mask_");
    learner_ =
        std::make_unique<Qmix>(c_, N_, in_dim_, state_size_, envs_->env(0).action_space(0).n(),
                               static_cast<uint64_t>(config.seed));
    const auto rows = static_cast<size_t>(N_ * E_);
    inputs_.resize(rows * in_dim_), actions_.resize(rows);
    obs_.resize(rows * stride_), state_.resize(E_ * state_size_);
    rewards_.resize(rows), team_.resize(E_), env_actions_.resize(rows);
    masks_.resize(rows * ms_), env_masks_.resize(rows * ms_);
    active_.resize(rows), next_active_.resize(rows);
  }

  int64_t total_steps() const override { return iterations_ * E_; }

  void Iterate(train::Context& ctx) override {
    // epsilon: linear from start_e to end_e over exploration_fraction of the run
    const double explore = c_.exploration_fraction * static_cast<double>(config_.total_timesteps);
    const double epsilon = std::max(
        c_.start_e + (c_.end_e - c_.start_e) * static_cast<double>(ctx.global_step) / explore,
        c_.end_e);
    std::copy_n(envs_->observations(), obs_.size(), obs_.data());
    std::copy_n(envs_->states(), state_.size(), state_.data());
    Inputs(obs_.data(), E_, inputs_.data());
    std::copy_n(envs_->action_masks(), env_masks_.size(), env_masks_.data());
    for (int i = 0; i < N_ && ms_ > 0; ++i) {  // agent-major, as the inputs
      for (int e = 0; e < E_; ++e)
        std::copy_n(&env_masks_[(e * N_ + i) * ms_], ms_, &masks_[(i * E_ + e) * ms_]);
    }
    for (int e = 0; e < E_; ++e)
      for (int i = 0; i < N_; ++i) active_[e * N_ + i] = envs_->env(e).alive(i);
    learner_->Act(inputs_.data(), N_ * E_, epsilon, actions_.data(),
                  ms_ > 0 ? masks_.data() : nullptr);
    for (int i = 0; i < N_; ++i) {
      for (int e = 0; e < E_; ++e) envs_->discrete_actions()[e * N_ + i] = actions_[i * E_ + e];
    }
    std::copy_n(envs_->discrete_actions(), env_actions_.size(), env_actions_.data());
    envs_->Step();
    ctx.global_step += E_;
    ++ctx.iteration;
    Store(ctx);
    if (ctx.global_step <= c_.learning_starts || replay_.size() < c_.batch_size) return;
    if (ctx.iteration % c_.train_frequency != 0) return;
    replay_.SampleTransitions(c_.batch_size, false, &batch_);
    const auto metrics = learner_->Update(Batch());
    if (learner_->updates() % 100 == 0) {
      for (const auto& [tag, value] : metrics) ctx.Log(tag, value);
      ctx.Log("charts/epsilon", epsilon);
      ctx.Log("charts/SPS", ctx.sps());
    }
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    std::vector<float> in(static_cast<size_t>(N_ * in_dim_));
    return train::RunJointEpisodes(
        [&](const float* obs, const uint8_t* masks, int64_t* d, float*, bool) {
          Inputs(obs, 1, in.data());
          learner_->Act(in.data(), N_, 0.0, d, masks);
        },
        config_.env, req);
  }

  void Save(io::TensorDict& out) const override {
    learner_->Save(out);
    train::SaveEnvs(out, *envs_);
  }
  void Load(const io::TensorDict& in) override {
    learner_->Load(in);
    train::LoadEnvs(in, *envs_);
  }
  bool HasFiles() const override { return config_.checkpoint.save_replay_buffer; }
  void SaveFiles(const std::string& dir) const override { replay_.Save(dir + "/replay"); }
  void LoadFiles(const std::string& dir) override { replay_.LoadInto(dir + "/replay"); }

  io::TensorDict Parameters() const override {
    io::TensorDict d;
    nn::Put(d, learner_->parameters());
    return d;
  }
  io::TensorDict Gradients() const override {
    io::TensorDict d;
    nn::Put(d, learner_->gradients());
    return d;
  }

 private:
  // Flexibuff's names: obs/obs_, state/state_, discrete_actions, individual and global rewards.
  // Transitions of all envs share the ring, so its episode index is not used (batches are
  // uniform over transitions).
  // With masks, action_mask/action_mask_ (now and next); active/active_: the agent is in the
  // env when acting, and still in it (not terminated) after the step.
  std::vector<buffers::FieldSpec> Fields() const {
    using buffers::Scope;
    std::vector<buffers::FieldSpec> f = {
        {"obs", Scope::kPerAgent, {stride_}, DType::kFloat32},
        {"obs_", Scope::kPerAgent, {stride_}, DType::kFloat32},
        {"state", Scope::kGlobal, {state_size_}, DType::kFloat32},
        {"state_", Scope::kGlobal, {state_size_}, DType::kFloat32},
        {"discrete_actions", Scope::kPerAgent, {1}, DType::kInt64},
        {"individual_rewards", Scope::kPerAgent, {}, DType::kFloat32},
        {"global_rewards", Scope::kGlobal, {}, DType::kFloat32},
        {"active", Scope::kPerAgent, {}, DType::kUInt8},
        {"active_", Scope::kPerAgent, {}, DType::kUInt8}};
    if (ms_ > 0) {
      f.push_back({"action_mask", Scope::kPerAgent, {ms_}, DType::kUInt8});
      f.push_back({"action_mask_", Scope::kPerAgent, {ms_}, DType::kUInt8});
    }
    return f;
  }

  // Agent-major inputs (N x envs x in_dim) from env-major observations (envs x N x stride).
  void Inputs(const float* obs, int envs, float* out) const {
    for (int i = 0; i < N_; ++i) {
      for (int e = 0; e < envs; ++e) {
        float* row = out + (static_cast<size_t>(i) * envs + e) * in_dim_;
        const float* o = obs + (static_cast<size_t>(e) * N_ + i) * stride_;
        std::copy(o, o + stride_, row);
        std::fill(row + stride_, row + in_dim_, 0.0f);
        if (ids_ > 0) row[stride_ + i] = 1.0f;
      }
    }
  }

  // Each env's transition; an ended episode's true last observation and state are the next ones.
  void Store(train::Context& ctx) {
    for (int e = 0; e < E_; ++e) {
      const bool ended = envs_->has_final()[e];
      const float* next_obs = (ended ? envs_->final_observations() : envs_->observations()) +
                              static_cast<size_t>(e) * N_ * stride_;
      const float* next_state =
          (ended ? envs_->final_states() : envs_->states()) + static_cast<size_t>(e) * state_size_;
      const uint8_t* next_masks =
          (ended ? envs_->final_action_masks() : envs_->action_masks()) + e * N_ * ms_;
      double team = 0.0;
      bool all_terminated = true;
      for (int i = 0; i < N_; ++i) {
        next_active_[e * N_ + i] = active_[e * N_ + i] && !envs_->terminated()[e * N_ + i];
        rewards_[e * N_ + i] = static_cast<float>(envs_->rewards()[e * N_ + i]);
        team += envs_->rewards()[e * N_ + i] / (c_.team_reward == "mean" ? N_ : 1);
        all_terminated = all_terminated && envs_->terminated()[e * N_ + i];
      }
      team_[e] = static_cast<float>(team);
      const auto n = static_cast<size_t>(N_);
      replay_.Set<float>(f_.obs, {&obs_[e * n * stride_], n * stride_});
      replay_.Set<float>(f_.next_obs, {next_obs, n * stride_});
      replay_.Set<float>(f_.state, {&state_[e * state_size_], static_cast<size_t>(state_size_)});
      replay_.Set<float>(f_.next_state, {next_state, static_cast<size_t>(state_size_)});
      replay_.Set<int64_t>(f_.actions, {&env_actions_[e * n], n});
      replay_.Set<float>(f_.rewards, {&rewards_[e * n], n});
      replay_.Set<float>(f_.team, {&team_[e], 1});
      replay_.Set<uint8_t>(f_.active, {&active_[e * n], n});
      replay_.Set<uint8_t>(f_.next_active, {&next_active_[e * n], n});
      if (ms_ > 0) {
        replay_.Set<uint8_t>(f_.mask, {&env_masks_[e * n * ms_], n * ms_});
        replay_.Set<uint8_t>(f_.next_mask, {next_masks, n * ms_});
      }
      replay_.SaveTransition(ended && all_terminated, ended && !all_terminated);
    }
    train::EndEpisodes(ctx, *envs_);
  }

  // The sampled transitions as the learner's agent-major batch.
  QmixBatch Batch() {
    const int64_t B = batch_["obs"].shape[1];
    batch_in_.resize(static_cast<size_t>(N_ * B * in_dim_));
    batch_next_in_.resize(batch_in_.size());
    // the batch's per-agent fields are (N x B x ...): each agent's rows are one env-major block
    for (int i = 0; i < N_; ++i) {
      Inputs1(batch_["obs"].as<float>() + i * B * stride_, i, B, &batch_in_[i * B * in_dim_]);
      Inputs1(batch_["obs_"].as<float>() + i * B * stride_, i, B, &batch_next_in_[i * B * in_dim_]);
    }
    // discount: gamma unless the episode terminated (truncation bootstraps from obs_)
    discounts_.resize(static_cast<size_t>(B));
    const uint8_t* terminated = batch_["terminated"].as<uint8_t>();
    for (int64_t b = 0; b < B; ++b)
      discounts_[b] = terminated[b] ? 0.0f : static_cast<float>(c_.gamma);
    const bool own = c_.mixer == "none";
    return {B,
            batch_in_.data(),
            batch_next_in_.data(),
            batch_["state"].as<float>(),
            batch_["state_"].as<float>(),
            batch_["discrete_actions"].as<int64_t>(),
            own ? batch_["individual_rewards"].as<float>() : batch_["global_rewards"].as<float>(),
            discounts_.data(),
            ms_ > 0 ? batch_["action_mask"].as<uint8_t>() : nullptr,
            ms_ > 0 ? batch_["action_mask_"].as<uint8_t>() : nullptr,
            batch_["active"].as<uint8_t>(),
            batch_["active_"].as<uint8_t>()};
  }
  // One agent's B observations (B x stride) as inputs (B x in_dim).
  void Inputs1(const float* obs, int agent, int64_t B, float* out) const {
    for (int64_t b = 0; b < B; ++b) {
      float* row = out + b * in_dim_;
      std::copy(obs + b * stride_, obs + (b + 1) * stride_, row);
      std::fill(row + stride_, row + in_dim_, 0.0f);
      if (ids_ > 0) row[stride_ + agent] = 1.0f;
    }
  }

  const train::TrainConfig config_;  // a copy: the run outlives its caller's
  const QmixConfig& c_;
  std::unique_ptr<env::MultiAgentVectorEnv> envs_;
  int E_, N_;                    // envs, agents
  int64_t stride_, state_size_;  // observation row width, global state width
  int64_t ids_, in_dim_;         // one-hot id width, agent input width
  int64_t ms_;                   // action mask width (0: no masks)
  int64_t iterations_;
  buffers::FlexibleBuffer replay_;  // every env's transitions
  struct FieldIds {
    int obs, next_obs, state, next_state, actions, rewards, team, active, next_active;
    int mask = -1, next_mask = -1;
  } f_;  // the replay's field ids
  std::unique_ptr<Qmix> learner_;
  std::vector<float> inputs_;         // agents' inputs        (N x E x in_dim)
  std::vector<int64_t> actions_;      // chosen actions        (N x E)
  std::vector<int64_t> env_actions_;  // the same, env-major   (E x N)
  std::vector<float> obs_, state_;    // acted on              (E x N x stride), (E x state)
  std::vector<float> rewards_;        // individual rewards    (E x N)
  std::vector<float> team_;           // team rewards          (E)
  std::vector<uint8_t> masks_;        // allowed actions       (N x E x ms)
  std::vector<uint8_t> env_masks_;    // the same, env-major   (E x N x ms)
  std::vector<uint8_t> active_;       // in the env when acting   (E x N)
  std::vector<uint8_t> next_active_;  // still in it after the step   (E x N)
  buffers::Batch batch_;              // a sampled batch, reused
  std::vector<float> batch_in_, batch_next_in_;  // its inputs   (N x B x in_dim)
  std::vector<float> discounts_;                 // gamma or 0           (B)
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeQmix(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<QmixRun>(config);
}

}  // namespace rlforge::algos
