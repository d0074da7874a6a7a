#include "rlforge/train/envs.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <tuple>

#include "rlforge/core/bytes.h"
#include "rlforge/dist/comm.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/env/wrappers.h"

namespace rlforge::train {

env::Kwargs EnvKwargs(const EnvConfig& c) {
  std::vector<std::string> items;
  for (const auto& [k, v] : c.kwargs) items.push_back(k + "=" + v);
  return env::ParseKwargs(items);
}

std::unique_ptr<env::Env> MakeEnv(const EnvConfig& c, double gamma) {
  // a multi-agent env as one agent acting for all (evaluation, videos): env/multi_agent.h
  auto e =
      env::IsMultiAgent(c.id) ? env::MakeJoint(c.id, EnvKwargs(c)) : env::Make(c.id, EnvKwargs(c));
  if (!c.resize.empty()) {
    const Space& obs = e->observation_space();
    if (c.resize.size() != 2 || c.resize[0] < 1 || c.resize[1] < 1 || c.resize[0] > 4096 ||
        c.resize[1] > 4096) {
      throw Error("env.resize: expected [height, width] of two integers in [1, 4096], got " +
                  std::to_string(c.resize.size()) + " values");
    }
    if (obs.dtype() != DType::kUInt8 || (obs.shape().size() != 3 && obs.shape().size() != 2)) {
      throw Error("env.resize: resizes image observations (uint8, H x W or H x W x C), but " +
                  c.id + " observes " + obs.ToString());
    }
    e = std::make_unique<env::ResizeObservation>(std::move(e), static_cast<int>(c.resize[0]),
                                                 static_cast<int>(c.resize[1]));
  }
  e = std::make_unique<env::RecordEpisodeStatistics>(std::move(e));  // true returns
  if (c.clip_action && e->action_space().kind() == Space::Kind::kBox) {
    e = std::make_unique<env::ClipAction>(std::move(e));
  }
  if (c.normalize_observation)
    e = std::make_unique<env::NormalizeObservation>(std::move(e), 1e-8, c.clip_observation);
  if (c.normalize_reward)
    e = std::make_unique<env::NormalizeReward>(std::move(e), gamma, 1e-8, c.clip_reward);
  return e;
}

std::unique_ptr<env::VectorEnv> MakeVectorEnv(const EnvConfig& c, double gamma, uint64_t seed,
                                              int first) {
  std::vector<std::unique_ptr<env::Env>> envs;
  for (int i = 0; i < c.num_envs; ++i) envs.push_back(MakeEnv(c, gamma));
  auto v = std::make_unique<env::VectorEnv>(std::move(envs), c.threads);
  v->Reset(seed, first);
  return v;
}

void ReportEpisodes(Context& ctx, std::vector<double>& ended) {
  const int64_t now = ctx.global_step;
  auto report = [&](const double* e) {
    ctx.global_step = static_cast<int64_t>(e[0]);
    ctx.EndEpisode(e[2], static_cast<int64_t>(e[3]));
  };
  if (!dist::Distributed()) {  // already in (step, env) order
    for (size_t k = 0; k < ended.size(); k += 4) report(&ended[k]);
  } else {
    const std::vector<double> all = dist::AllgatherV(ended);
    std::vector<size_t> order(all.size() / 4);
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(all[4 * a], all[4 * a + 1]) < std::tie(all[4 * b], all[4 * b + 1]);
    });
    for (size_t k : order) report(&all[4 * k]);
  }
  ctx.global_step = now;
  ended.clear();
}

std::pair<EnvConfig, int> RankShare(const EnvConfig& c) {
  const int ranks = dist::Size();
  if (c.num_envs % ranks != 0) {
    throw Error("env.num_envs: " + std::to_string(c.num_envs) + " envs cannot be split evenly " +
                "across " + std::to_string(ranks) + " ranks (mpirun -np " + std::to_string(ranks) +
                "); use a multiple of " + std::to_string(ranks) + " envs or another -np");
  }
  EnvConfig share = c;
  share.num_envs = c.num_envs / ranks;
  return {share, dist::Rank() * share.num_envs};
}

namespace {

template <class Envs>
void Save(io::TensorDict& out, const Envs& envs) {
  ByteWriter state;
  envs.SaveSnapshot(state);
  out.PutText("envs", state.bytes());
}

template <class Envs>
void Load(const io::TensorDict& in, Envs& envs) {
  const std::string bytes = in.Text("envs");
  ByteReader state(bytes, in.source() + ": envs");
  envs.LoadSnapshot(state);
}

}  // namespace

void SaveEnvs(io::TensorDict& out, const env::VectorEnv& envs) { Save(out, envs); }
void LoadEnvs(const io::TensorDict& in, env::VectorEnv& envs) { Load(in, envs); }
void SaveEnvs(io::TensorDict& out, const env::MultiAgentVectorEnv& envs) { Save(out, envs); }
void LoadEnvs(const io::TensorDict& in, env::MultiAgentVectorEnv& envs) { Load(in, envs); }

void EndEpisodes(Context& ctx, const env::MultiAgentVectorEnv& envs) {
  const int n = envs.num_agents();
  int ended = 0;
  double team = 0.0;
  for (int e = 0; e < envs.num_envs(); ++e) {
    if (!envs.has_final()[e]) continue;
    double sum = 0.0;
    for (int i = 0; i < n; ++i) sum += envs.final_returns()[e * n + i];
    ctx.EndEpisode(sum / n, envs.final_lengths()[e]);
    team += sum, ++ended;
  }
  if (ended == 0) return;
  ctx.Log("charts/team_episodic_return", team / ended);
  const auto& agents = envs.env(0).possible_agents();
  for (int i = 0; i < n; ++i) {
    double mean = 0.0;
    for (int e = 0; e < envs.num_envs(); ++e) {
      if (envs.has_final()[e]) mean += envs.final_returns()[e * n + i] / ended;
    }
    ctx.Log("charts/" + agents[static_cast<size_t>(i)] + "/episodic_return", mean);
  }
}

std::vector<double> RunEpisodesOn(env::Env& e, const ActFn& act, const EvalRequest& req,
                                  const std::function<void()>& begin_episode,
                                  const ValueFn& value) {
  const Space& space = e.action_space();
  std::vector<float> obs(static_cast<size_t>(e.observation_space().size()));
  std::vector<int64_t> disc(static_cast<size_t>(space.num_discrete()));
  std::vector<float> cont(static_cast<size_t>(space.num_continuous()));
  std::vector<double> returns;
  for (int ep = 0; ep < req.episodes; ++ep) {
    e.Reset(ep == 0 ? std::optional<uint64_t>(req.seed) : std::nullopt, obs.data());
    double ret = 0.0;
    if (begin_episode) begin_episode();
    if (req.on_step) req.on_step(e, ep, 0, 0.0, 0.0);
    for (int64_t step = 1;; ++step) {
      act(obs.data(), 1, disc.data(), cont.data(), req.deterministic);
      if (req.on_action) req.on_action(disc, cont);
      if (req.on_value && value) req.on_value(value(obs.data(), disc.data(), cont.data()));
      const env::StepResult r = e.Step({disc, cont}, obs.data());
      ret += r.reward;
      if (req.on_step) req.on_step(e, ep, step, r.reward, ret);
      if (r.terminated || r.truncated) break;
    }
    returns.push_back(ret);
  }
  return returns;
}

std::vector<double> RunEpisodes(const ActFn& act, const EnvConfig& env_config,
                                env::VectorEnv* training, const EvalRequest& req,
                                const std::function<void()>& begin_episode, const ValueFn& value) {
  EnvConfig c = env_config;
  c.normalize_reward = false;  // evaluation reports the true return
  auto e = MakeEnv(c, 0.99);
  auto* norm = env::FindWrapper<env::NormalizeObservation>(e.get());
  if (norm != nullptr && training != nullptr) {
    // evaluation uses the training statistics, frozen
    auto* train_norm = env::FindWrapper<env::NormalizeObservation>(&training->env(0));
    if (train_norm != nullptr) norm->stats() = train_norm->stats();
    norm->update_stats = false;
  }
  return RunEpisodesOn(*e, act, req, begin_episode, value);
}

std::vector<double> RunJointEpisodes(const JointActFn& act, const EnvConfig& env_config,
                                     const EvalRequest& req) {
  EnvConfig c = env_config;
  c.normalize_reward = false;  // evaluation reports the true return
  auto e = MakeEnv(c, 0.99);
  const env::MultiAgentEnv& agents = env::FindWrapper<env::JointEnv>(e.get())->multi_agent();
  int64_t stride = 0;
  for (int i = 0; i < agents.num_agents(); ++i)
    stride = std::max(stride, agents.action_mask_size(i));
  std::vector<uint8_t> masks(static_cast<size_t>(agents.num_agents() * stride));
  return RunEpisodesOn(
      *e,
      [&](const float* obs, int64_t, int64_t* discrete, float* continuous, bool deterministic) {
        if (!agents.has_action_masks())
          return act(obs, nullptr, discrete, continuous, deterministic);
        for (int i = 0; i < agents.num_agents(); ++i) agents.ActionMask(i, &masks[i * stride]);
        act(obs, masks.data(), discrete, continuous, deterministic);
      },
      req);
}

}  // namespace rlforge::train
