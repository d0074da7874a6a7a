// MAPPO's and IPPO's run, as marlbenchmark/on-policy's shared runner reads: every env steps
// num_steps world steps with all agents acting from their own observations, the transitions go
// into one FlexibleBuffer per env (per-agent fields, the global state, individual rewards,
// truncation apart from termination), then GAE per agent and epochs of PPO minibatch updates over
// the (agent, env, step) rows. The loss and optimizer are PPO's (algos/ppo/ppo.cc).
//
// With action masks the agents act, and are trained, on the allowed actions only. Rows where an
// agent had already left the env (MAPPO's active_masks) stay out of the updates and of ValueNorm.
//
// Inputs are built agent-major, row i * E + e for agent i in env e, so that one shared learner
// acts on all N x E rows in one call and per-agent learners on contiguous blocks of E rows.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlforge/algos/builtin.h"
#include "rlforge/algos/ppo/ppo.h"
#include "rlforge/buffers/flexible_buffer.h"
#include "rlforge/buffers/returns.h"
#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/train/envs.h"

namespace rlforge::algos {
namespace {

// MAPPO's ValueNorm (onpolicy/utils/valuenorm.py): debiased running mean and mean square of the
// returns, beta 0.99999, variance at least 1e-2.
struct ValueNorm {
  static constexpr double kBeta = 0.99999;
  double mean = 0.0, mean_sq = 0.0, debias = 0.0;  // running sums

  void Update(std::span<const float> x) {
    double m = 0.0, sq = 0.0;
    for (float v : x) m += v, sq += static_cast<double>(v) * v;
    m /= static_cast<double>(x.size()), sq /= static_cast<double>(x.size());
    mean = kBeta * mean + (1 - kBeta) * m;
    mean_sq = kBeta * mean_sq + (1 - kBeta) * sq;
    debias = kBeta * debias + (1 - kBeta);
  }
  double Mean() const { return mean / std::max(debias, 1e-5); }
  double Std() const {
    const double m = Mean();
    return std::sqrt(std::max(mean_sq / std::max(debias, 1e-5) - m * m, 1e-2));
  }
  float Normalize(double x) const { return static_cast<float>((x - Mean()) / Std()); }
  float Denormalize(double x) const { return static_cast<float>(x * Std() + Mean()); }
};

// The entries of `in` under "prefix" (the prefix removed), and back.
io::TensorDict Unprefixed(const io::TensorDict& in, const std::string& prefix) {
  io::TensorDict out;
  out.set_source(in.source());
  for (const auto& [name, t] : in.tensors()) {
    if (name.rfind(prefix, 0) == 0)
      out.PutBytes(name.substr(prefix.size()), t.dtype, t.shape, t.bytes.data(), t.bytes.size());
  }
  return out;
}
void PutPrefixed(io::TensorDict& out, const std::string& prefix, const io::TensorDict& in) {
  for (const auto& [name, t] : in.tensors())
    out.PutBytes(prefix + name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
}

class MappoRun final : public train::Algorithm {
 public:
  explicit MappoRun(const train::TrainConfig& config)
      : config_(config),
        envs_(env::MakeMultiAgentVector(config.env.id, config.env.num_envs,
                                        train::EnvKwargs(config.env))),
        E_(envs_->num_envs()),
        N_(envs_->num_agents()),
        T_(config.ppo.num_steps),
        stride_(envs_->obs_stride()),
        state_size_(envs_->state_size()),
        nd_(envs_->num_discrete()),
        nc_(envs_->num_continuous()),
        ms_(envs_->has_action_masks() ? envs_->mask_stride() : 0),
        ids_(config.mappo.share_parameters && config.mappo.agent_id ? N_ : 0),
        in_dim_(stride_ + ids_),
        critic_dim_(config.mappo.centralized_critic ? state_size_ + ids_ : in_dim_),
        iterations_(std::max<int64_t>(1, config.total_timesteps / (int64_t{E_} * T_))) {
    envs_->Reset(static_cast<uint64_t>(config.seed));
    const env::MultiAgentEnv& probe = envs_->env(0);
    for (int i = 0; i < N_ && ms_ > 0; ++i) {
      if (probe.action_mask_size(i) != ms_)
        throw Error("mappo: action masks need every agent to have the same number of actions; " +
                    probe.possible_agents()[i] + " has " + probe.action_space(i).ToString());
    }
    const int learners = config.mappo.share_parameters ? 1 : N_;
    for (int k = 0; k < learners; ++k) {
      const Space obs = Space::Box(-INFINITY, INFINITY, {in_dim_});
      learners_.push_back(std::make_unique<Ppo>(config.ppo, obs, probe.action_space(k),
                                                static_cast<uint64_t>(config.seed) + k,
                                                config.mappo.centralized_critic ? critic_dim_ : 0));
    }
    for (int e = 0; e < E_; ++e) buffers_.emplace_back(T_, N_, Fields());
    const buffers::FlexibleBuffer& b = buffers_[0];
    f_ = {b.FieldId("obs"),
          b.FieldId("state"),
          b.FieldId("log_probs"),
          b.FieldId("values"),
          b.FieldId("individual_rewards"),
          b.FieldId("agent_terminated"),
          b.FieldId("agent_truncated"),
          b.FieldId("final_values"),
          b.FieldId("active")};
    if (nd_ > 0) f_.discrete = b.FieldId("discrete_actions");
    if (nc_ > 0) f_.continuous = b.FieldId("continuous_actions");
    if (ms_ > 0) f_.mask = b.FieldId("action_mask");
    const auto rows = static_cast<size_t>(N_ * E_);
    actor_in_.resize(rows * in_dim_);
    critic_in_.resize(rows * critic_dim_);
    discrete_.resize(rows * nd_);
    continuous_.resize(rows * nc_);
    masks_.resize(rows * ms_), staged_active_.resize(rows);
    log_probs_.resize(rows), values_.resize(rows), final_values_.resize(rows);
    rewards_.resize(rows);
    staged_obs_.resize(rows * stride_), staged_state_.resize(E_ * state_size_);
    for (auto* v : {&staged_logp_, &staged_values_, &staged_rewards_, &staged_final_})
      v->resize(rows);
    staged_discrete_.resize(rows * nd_), staged_continuous_.resize(rows * nc_);
    const auto total = rows * static_cast<size_t>(T_);
    advantages_.resize(total), returns_.resize(total), targets_.resize(total);
    active_.resize(total);
    value_estimates_.resize(total);
    for (auto* v : {&col_rewards_, &col_values_, &col_final_, &col_adv_, &col_ret_})
      v->resize(static_cast<size_t>(T_));
    col_term_.resize(static_cast<size_t>(T_)), col_trunc_.resize(static_cast<size_t>(T_));
  }

  int64_t total_steps() const override { return iterations_ * E_ * T_; }

  void Iterate(train::Context& ctx) override {
    const PpoConfig& c = config_.ppo;
    const double frac = 1.0 - static_cast<double>(ctx.iteration) / static_cast<double>(iterations_);
    const double lr = c.anneal_lr ? frac * c.learning_rate : c.learning_rate;
    for (auto& b : buffers_) b.Reset();
    for (int t = 0; t < T_; ++t) CollectStep(ctx);
    ComputeAdvantages();
    std::map<std::string, double> metrics;
    for (size_t k = 0; k < learners_.size(); ++k) {
      const std::string prefix = learners_.size() > 1 ? AgentName(k) + "/" : "";
      for (const auto& [tag, value] : UpdateLearner(k, lr)) {
        const auto slash = tag.find('/');
        metrics[tag.substr(0, slash + 1) + prefix + tag.substr(slash + 1)] = value;
      }
    }
    for (const auto& [tag, value] : metrics) ctx.Log(tag, value);
    if (config_.mappo.value_norm) ctx.Log("charts/value_norm_std", value_norm_.Std());
    ++ctx.iteration;
    ctx.Log("charts/SPS", ctx.sps());
  }

  std::vector<double> Evaluate(const train::EvalRequest& req) override {
    // on the env's joint view: the observation is the agents' block, the action theirs in order
    std::vector<float> in(static_cast<size_t>(N_ * in_dim_));
    return train::RunJointEpisodes(
        [&](const float* obs, const uint8_t* masks, int64_t* d, float* a, bool det) {
          for (int i = 0; i < N_; ++i) ActorInput(obs + i * stride_, i, &in[i * in_dim_]);
          for (size_t k = 0; k < learners_.size(); ++k) {
            const int64_t first = Rows(k).first / E_, count = Rows(k).second / E_;
            learners_[k]->Act(&in[first * in_dim_], count, d + first * nd_, a + first * nc_,
                              nullptr, nullptr, det, masks ? masks + first * ms_ : nullptr);
          }
        },
        config_.env, req);
  }

  void Save(io::TensorDict& out) const override {
    for (size_t k = 0; k < learners_.size(); ++k) {
      io::TensorDict one;
      learners_[k]->Save(one);
      PutPrefixed(out, Prefix(k), one);
    }
    out.Put("mappo.value_norm",
            std::vector<double>{value_norm_.mean, value_norm_.mean_sq, value_norm_.debias});
    train::SaveEnvs(out, *envs_);
  }

  void Load(const io::TensorDict& in) override {
    for (size_t k = 0; k < learners_.size(); ++k) learners_[k]->Load(Unprefixed(in, Prefix(k)));
    std::vector<double> norm(3);
    in.Read("mappo.value_norm", norm);
    value_norm_ = {norm[0], norm[1], norm[2]};
    train::LoadEnvs(in, *envs_);
  }

  io::TensorDict Parameters() const override { return Named(false); }
  io::TensorDict Gradients() const override { return Named(true); }

 private:
  std::string AgentName(size_t k) const { return envs_->env(0).possible_agents()[k]; }
  // Checkpoint names: CleanRL's (actor.0.weight, ...) when shared, else under "agent_0." etc.
  std::string Prefix(size_t k) const { return learners_.size() > 1 ? AgentName(k) + "." : ""; }
  // The agent-major rows learner k acts on: first row, count.
  std::pair<int64_t, int64_t> Rows(size_t k) const {
    return learners_.size() > 1 ? std::pair<int64_t, int64_t>{int64_t(k) * E_, E_}
                                : std::pair<int64_t, int64_t>{0, int64_t{N_} * E_};
  }

  io::TensorDict Named(bool gradients) const {
    io::TensorDict d;
    for (size_t k = 0; k < learners_.size(); ++k) {
      nn::NamedTensors t = gradients ? learners_[k]->gradients() : learners_[k]->parameters();
      for (auto& one : t) one.name = Prefix(k) + one.name;
      nn::Put(d, t);
    }
    return d;
  }

  std::vector<buffers::FieldSpec> Fields() const {
    using buffers::Scope;
    std::vector<buffers::FieldSpec> f = {
        {"obs", Scope::kPerAgent, {stride_}, DType::kFloat32},
        {"state", Scope::kGlobal, {state_size_}, DType::kFloat32},
        {"log_probs", Scope::kPerAgent, {}, DType::kFloat32},
        {"values", Scope::kPerAgent, {}, DType::kFloat32},  // the critic's output
        {"individual_rewards", Scope::kPerAgent, {}, DType::kFloat32},
        {"agent_terminated", Scope::kPerAgent, {}, DType::kUInt8},
        {"agent_truncated", Scope::kPerAgent, {}, DType::kUInt8},
        {"final_values", Scope::kPerAgent, {}, DType::kFloat32},  // V(final) where truncated
        {"active", Scope::kPerAgent, {}, DType::kUInt8}};         // still in the env when acting
    if (nd_ > 0) f.push_back({"discrete_actions", Scope::kPerAgent, {nd_}, DType::kInt64});
    if (nc_ > 0) f.push_back({"continuous_actions", Scope::kPerAgent, {nc_}, DType::kFloat32});
    if (ms_ > 0) f.push_back({"action_mask", Scope::kPerAgent, {ms_}, DType::kUInt8});
    return f;
  }

  // [obs (stride), one-hot id (ids_)]
  void ActorInput(const float* obs, int agent, float* out) const {
    std::copy(obs, obs + stride_, out);
    std::fill(out + stride_, out + in_dim_, 0.0f);
    if (ids_ > 0) out[stride_ + agent] = 1.0f;
  }
  // MAPPO: [state, one-hot id]; IPPO: the actor's input
  void CriticInput(const float* obs, const float* state, int agent, float* out) const {
    if (!config_.mappo.centralized_critic) return ActorInput(obs, agent, out);
    std::copy(state, state + state_size_, out);
    std::fill(out + state_size_, out + critic_dim_, 0.0f);
    if (ids_ > 0) out[state_size_ + agent] = 1.0f;
  }
  // Both inputs of every (agent, env) row from observation and state blocks (E x N x stride,
  // E x state_size).
  void BuildInputs(const float* obs, const float* states) {
    for (int i = 0; i < N_; ++i) {
      for (int e = 0; e < E_; ++e) {
        const size_t row = static_cast<size_t>(i * E_ + e);
        const float* o = obs + (static_cast<size_t>(e) * N_ + i) * stride_;
        ActorInput(o, i, actor_in_.data() + (row * in_dim_));
        CriticInput(o, states + static_cast<size_t>(e) * state_size_, i,
                    critic_in_.data() + (row * critic_dim_));
      }
    }
  }
  // values (N x E) = V(critic_in_), in return units
  void Values(float* values) {
    for (size_t k = 0; k < learners_.size(); ++k) {
      const auto [first, count] = Rows(k);
      learners_[k]->Value(critic_in_.data() + (first * critic_dim_), count, values + first);
    }
    if (config_.mappo.value_norm)
      for (int r = 0; r < N_ * E_; ++r) values[r] = value_norm_.Denormalize(values[r]);
  }

  void CollectStep(train::Context& ctx) {
    BuildInputs(envs_->observations(), envs_->states());
    ToAgentMajor(envs_->action_masks(), ms_, masks_);
    for (size_t k = 0; k < learners_.size(); ++k) {
      const auto [first, count] = Rows(k);
      learners_[k]->Act(actor_in_.data() + (first * in_dim_), count,
                        discrete_.data() + (first * nd_), continuous_.data() + (first * nc_),
                        log_probs_.data() + first, nullptr, false,
                        ms_ > 0 ? masks_.data() + first * ms_ : nullptr);
      learners_[k]->Value(critic_in_.data() + (first * critic_dim_), count, values_.data() + first);
    }
    // the actions into the env blocks (E x N x ...), continuous ones clipped to their bounds
    for (int i = 0; i < N_; ++i) {
      const Space& space = envs_->env(0).action_space(i);
      for (int e = 0; e < E_; ++e) {
        const size_t row = static_cast<size_t>(i * E_ + e), slot = static_cast<size_t>(e * N_ + i);
        std::copy_n(discrete_.data() + (row * nd_), nd_, envs_->discrete_actions() + slot * nd_);
        for (int64_t j = 0; j < nc_; ++j) {
          envs_->continuous_actions()[slot * nc_ + j] =
              std::clamp(continuous_[row * nc_ + j], static_cast<float>(space.low()[j]),
                         static_cast<float>(space.high()[j]));
        }
      }
    }
    // what the buffers keep of the acting state (staged values must outlive the step)
    std::copy_n(envs_->observations(), staged_obs_.size(), staged_obs_.data());
    std::copy_n(envs_->states(), staged_state_.size(), staged_state_.data());
    ToEnvMajor(log_probs_, 1, staged_logp_);
    ToEnvMajor(values_, 1, staged_values_);
    ToEnvMajor(discrete_, nd_, staged_discrete_);
    ToEnvMajor(continuous_, nc_, staged_continuous_);
    staged_masks_.assign(envs_->action_masks(), envs_->action_masks() + masks_.size());
    for (int e = 0; e < E_; ++e)
      for (int i = 0; i < N_; ++i) staged_active_[e * N_ + i] = envs_->env(e).alive(i);
    envs_->Step();
    ctx.global_step += E_;
    const bool mean_reward = config_.mappo.reward == "mean";
    bool any_final = false;
    for (int e = 0; e < E_; ++e) {
      double mean = 0.0;
      for (int i = 0; i < N_; ++i) mean += envs_->rewards()[e * N_ + i] / N_;
      for (int i = 0; i < N_; ++i)
        rewards_[i * E_ + e] =
            static_cast<float>(mean_reward ? mean : envs_->rewards()[e * N_ + i]);
      any_final = any_final || envs_->has_final()[e];
    }
    train::EndEpisodes(ctx, *envs_);
    // truncated agents bootstrap from the value of their final observation
    std::fill(final_values_.begin(), final_values_.end(), 0.0f);
    if (any_final) {
      BuildInputs(envs_->final_observations(), envs_->final_states());
      Values(final_values_.data());
    }
    for (int e = 0; e < E_; ++e) {
      for (int i = 0; i < N_; ++i) {
        const size_t slot = static_cast<size_t>(e * N_ + i), row = static_cast<size_t>(i * E_ + e);
        if (!envs_->has_final()[e] || !envs_->truncated()[slot]) final_values_[row] = 0.0f;
      }
    }
    ToEnvMajor(rewards_, 1, staged_rewards_);
    ToEnvMajor(final_values_, 1, staged_final_);
    for (int e = 0; e < E_; ++e) Store(e);
  }

  // Copies an env-major block (E x N x width) into an agent-major one (N x E x width).
  template <typename T>
  void ToAgentMajor(const T* block, int64_t width, std::vector<T>& out) const {
    for (int i = 0; i < N_ && width > 0; ++i) {
      for (int e = 0; e < E_; ++e)
        std::copy_n(block + (e * N_ + i) * width, width, &out[(i * E_ + e) * width]);
    }
  }
  // Copies an agent-major block (N x E x width) into an env-major one (E x N x width).
  template <typename T>
  void ToEnvMajor(const std::vector<T>& block, int64_t width, std::vector<T>& out) const {
    if (width == 0) return;
    for (int e = 0; e < E_; ++e) {
      for (int i = 0; i < N_; ++i) {
        std::copy_n(&block[static_cast<size_t>((i * E_ + e) * width)], width,
                    &out[static_cast<size_t>((e * N_ + i) * width)]);
      }
    }
  }

  // Env e's transition from the staged blocks into its buffer.
  void Store(int e) {
    buffers::FlexibleBuffer& b = buffers_[static_cast<size_t>(e)];
    auto rows = [&](const auto& block, int64_t width) {
      using T = typename std::decay_t<decltype(block)>::value_type;
      return std::span<const T>(block.data() + e * N_ * width, static_cast<size_t>(N_ * width));
    };
    b.Set<float>(f_.obs, rows(staged_obs_, stride_));
    b.Set<float>(f_.state, std::span<const float>(staged_state_.data() + e * state_size_,
                                                  static_cast<size_t>(state_size_)));
    b.Set<float>(f_.log_probs, rows(staged_logp_, 1));
    b.Set<float>(f_.values, rows(staged_values_, 1));
    b.Set<float>(f_.rewards, rows(staged_rewards_, 1));
    b.Set<float>(f_.final_values, rows(staged_final_, 1));
    if (nd_ > 0) b.Set<int64_t>(f_.discrete, rows(staged_discrete_, nd_));
    if (nc_ > 0) b.Set<float>(f_.continuous, rows(staged_continuous_, nc_));
    if (ms_ > 0) b.Set<uint8_t>(f_.mask, rows(staged_masks_, ms_));
    b.Set<uint8_t>(f_.active, rows(staged_active_, 1));
    const std::span<const uint8_t> term(envs_->terminated() + e * N_, static_cast<size_t>(N_));
    const std::span<const uint8_t> trunc(envs_->truncated() + e * N_, static_cast<size_t>(N_));
    b.Set<uint8_t>(f_.terminated, term);
    b.Set<uint8_t>(f_.truncated, trunc);
    const bool over = envs_->has_final()[e];
    const bool all_terminated = std::all_of(term.begin(), term.end(), [](uint8_t x) { return x; });
    b.SaveTransition(over && all_terminated, over && !all_terminated);
  }

  template <typename T>
  T Read(int e, int field, int agent, int64_t t) const {
    T value;
    std::memcpy(&value, buffers_[static_cast<size_t>(e)].At(field, agent, t), sizeof(T));
    return value;
  }

  // GAE per (agent, env) over the rollout; last values are those of the current observations.
  void ComputeAdvantages() {
    BuildInputs(envs_->observations(), envs_->states());
    Values(values_.data());  // V(s_T) per row
    const PpoConfig& c = config_.ppo;
    for (int i = 0; i < N_; ++i) {
      for (int e = 0; e < E_; ++e) {
        for (int64_t t = 0; t < T_; ++t) {
          col_rewards_[t] = Read<float>(e, f_.rewards, i, t);
          const float v = Read<float>(e, f_.values, i, t);
          col_values_[t] = config_.mappo.value_norm ? value_norm_.Denormalize(v) : v;
          col_term_[t] = Read<uint8_t>(e, f_.terminated, i, t);
          col_trunc_[t] = Read<uint8_t>(e, f_.truncated, i, t);
          col_final_[t] = Read<float>(e, f_.final_values, i, t);
        }
        const buffers::Stream s{col_rewards_, col_term_, col_trunc_, col_final_, 1};
        buffers::Gae(s, col_values_, values_[i * E_ + e], static_cast<float>(c.gamma),
                     static_cast<float>(c.gae_lambda), col_adv_, col_ret_);
        const size_t base = static_cast<size_t>((i * E_ + e) * T_);
        for (int64_t t = 0; t < T_; ++t) active_[base + t] = Read<uint8_t>(e, f_.active, i, t);
        std::copy(col_adv_.begin(), col_adv_.end(), advantages_.begin() + base);
        std::copy(col_ret_.begin(), col_ret_.end(), returns_.begin() + base);
        std::copy(col_values_.begin(), col_values_.end(), value_estimates_.begin() + base);
      }
    }
    if (config_.mappo.value_norm) {  // the statistics of the active rows' returns
      active_returns_.clear();
      for (size_t r = 0; r < returns_.size(); ++r)
        if (active_[r]) active_returns_.push_back(returns_[r]);
      if (!active_returns_.empty()) value_norm_.Update(active_returns_);
    }
    for (size_t r = 0; r < returns_.size(); ++r)
      targets_[r] = config_.mappo.value_norm ? value_norm_.Normalize(returns_[r]) : returns_[r];
  }

  // PPO epochs for learner k over its active rows (row = (agent * E + env) * T + t).
  std::map<std::string, double> UpdateLearner(size_t k, double lr) {
    const int64_t first = Rows(k).first * T_;
    update_rows_.clear(), update_values_.clear(), update_returns_.clear();
    for (int64_t row = first; row < first + Rows(k).second * T_; ++row) {
      if (!active_[row]) continue;
      update_rows_.push_back(row);
      update_values_.push_back(value_estimates_[row]);
      update_returns_.push_back(returns_[row]);
    }
    if (update_rows_.empty()) return {};
    const Ppo::Gather gather = [&](std::span<const int64_t> rows) {
      const auto B = static_cast<int64_t>(rows.size());
      mb_obs_.resize(static_cast<size_t>(B * in_dim_));
      mb_critic_.resize(static_cast<size_t>(B * critic_dim_));
      mb_discrete_.resize(static_cast<size_t>(B * nd_));
      mb_continuous_.resize(static_cast<size_t>(B * nc_));
      mb_masks_.resize(static_cast<size_t>(B * ms_));
      for (auto* v : {&mb_logp_, &mb_values_, &mb_adv_, &mb_targets_})
        v->resize(static_cast<size_t>(B));
      for (int64_t b = 0; b < B; ++b) {
        const int64_t row = update_rows_[rows[b]], t = row % T_, ie = row / T_;
        const int i = static_cast<int>(ie / E_), e = static_cast<int>(ie % E_);
        const buffers::FlexibleBuffer& buf = buffers_[static_cast<size_t>(e)];
        const auto* obs = reinterpret_cast<const float*>(buf.At(f_.obs, i, t));
        const auto* state = reinterpret_cast<const float*>(buf.At(f_.state, 0, t));
        ActorInput(obs, i, mb_obs_.data() + (b * in_dim_));
        CriticInput(obs, state, i, mb_critic_.data() + (b * critic_dim_));
        if (nd_ > 0)
          std::memcpy(mb_discrete_.data() + (b * nd_), buf.At(f_.discrete, i, t),
                      sizeof(int64_t) * nd_);
        if (nc_ > 0)
          std::memcpy(mb_continuous_.data() + (b * nc_), buf.At(f_.continuous, i, t),
                      sizeof(float) * nc_);
        if (ms_ > 0) std::memcpy(mb_masks_.data() + (b * ms_), buf.At(f_.mask, i, t), ms_);
        mb_logp_[b] = Read<float>(e, f_.log_probs, i, t);
        mb_values_[b] = Read<float>(e, f_.values, i, t);
        mb_adv_[b] = advantages_[row];
        mb_targets_[b] = targets_[row];
      }
      return Ppo::Minibatch{B,
                            mb_obs_.data(),
                            mb_discrete_.data(),
                            mb_continuous_.data(),
                            mb_logp_.data(),
                            mb_values_.data(),
                            mb_adv_.data(),
                            mb_targets_.data(),
                            config_.mappo.centralized_critic ? mb_critic_.data() : nullptr,
                            ms_ > 0 ? mb_masks_.data() : nullptr};
    };
    return learners_[k]->Update(static_cast<int64_t>(update_rows_.size()), gather, update_values_,
                                update_returns_, lr);
  }

  const train::TrainConfig config_;  // a copy: the run outlives its caller's
  std::unique_ptr<env::MultiAgentVectorEnv> envs_;
  int E_, N_, T_;                // envs, agents, steps per rollout
  int64_t stride_, state_size_;  // observation row width, global state width
  int64_t nd_, nc_;              // action widths per agent: discrete, continuous
  int64_t ms_;                   // action mask width per agent (0: no masks)
  int64_t ids_;                  // one-hot id width (0: none)
  int64_t in_dim_, critic_dim_;  // actor and critic input widths
  int64_t iterations_;
  std::vector<std::unique_ptr<Ppo>> learners_;    // one shared, or one per agent
  std::vector<buffers::FlexibleBuffer> buffers_;  // one rollout per env   (E x [T x N])
  ValueNorm value_norm_;
  std::vector<float> actor_in_;      // actor inputs            (N x E x in_dim)
  std::vector<float> critic_in_;     // critic inputs           (N x E x critic_dim)
  std::vector<int64_t> discrete_;    // sampled actions         (N x E x nd)
  std::vector<float> continuous_;    // sampled actions, unclipped   (N x E x nc)
  std::vector<uint8_t> masks_;       // allowed actions         (N x E x ms)
  std::vector<float> log_probs_;     // log pi(a)               (N x E)
  std::vector<float> values_;        // critic outputs; V(s_T) in return units at the end   (N x E)
  std::vector<float> final_values_;  // V(final obs) of truncated agents   (N x E)
  std::vector<float> rewards_;       // what each agent learns from this step   (N x E)
  std::vector<float> advantages_;    // GAE advantages          (N x E x T)
  std::vector<float> returns_;       // advantages + values, return units   (N x E x T)
  std::vector<float> targets_;       // value targets (normalized with value_norm)   (N x E x T)
  std::vector<float> value_estimates_;  // V(s_t) in return units   (N x E x T)
  std::vector<uint8_t> active_;         // the agent was in the env when acting   (N x E x T)
  std::vector<float> active_returns_;   // the returns of active rows, for ValueNorm
  std::vector<int64_t> update_rows_;    // one learner's active rows
  std::vector<float> update_values_, update_returns_;  // their values and returns
  std::vector<float> col_rewards_, col_values_, col_final_, col_adv_, col_ret_;  // one column (T)
  std::vector<uint8_t> col_term_, col_trunc_;                                    // one column (T)
  // the step's transition, env-major, staged into the buffers
  std::vector<float> staged_obs_;    // observations acted on   (E x N x stride)
  std::vector<float> staged_state_;  // global states           (E x state_size)
  std::vector<float> staged_logp_, staged_values_, staged_rewards_, staged_final_;  // (E x N)
  std::vector<int64_t> staged_discrete_;                                            // (E x N x nd)
  std::vector<float> staged_continuous_;  // unclipped   (E x N x nc)
  std::vector<uint8_t> staged_masks_;     // allowed actions when acting   (E x N x ms)
  std::vector<uint8_t> staged_active_;    // in the env when acting        (E x N)
  struct FieldIds {
    int obs, state, log_probs, values, rewards, terminated, truncated, final_values, active;
    int discrete = -1, continuous = -1, mask = -1;
  } f_;                                                    // the buffers' field ids
  std::vector<float> mb_obs_, mb_critic_, mb_continuous_;  // a minibatch's rows
  std::vector<int64_t> mb_discrete_;
  std::vector<uint8_t> mb_masks_;
  std::vector<float> mb_logp_, mb_values_, mb_adv_, mb_targets_;
};

}  // namespace

std::unique_ptr<train::Algorithm> MakeMappo(const train::TrainConfig& config, const std::string&) {
  return std::make_unique<MappoRun>(config);
}

}  // namespace rlforge::algos
