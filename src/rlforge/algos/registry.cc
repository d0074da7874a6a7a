#include "rlforge/algos/registry.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>

#include "rlforge/algos/builtin.h"
#include "rlforge/core/error.h"
#include "rlforge/core/library.h"
#include "rlforge/train/config.h"

namespace rlforge::algos {
namespace {

using train::TrainConfig;

void NeedsBoundedBox(const TrainConfig& c, const Space& act) {
  if (act.kind() != Space::Kind::kBox || !act.is_bounded()) {
    throw Error("algo: " + c.algo + " needs a bounded Box action space, but env.id " + c.env.id +
                " has " + act.ToString() + " (use dqn or ppo)");
  }
}

// The parameters of `copies` MLPs in -> hidden -> out must fit in memory several times over
// (values, gradients, two Adam moments): a documented limit of 2^28 (1 GiB of floats each), so a
// typo such as [100000000, 100000000] is an error naming the key, not std::bad_alloc.
constexpr double kMaxParameters = 268435456.0;
void CheckNetworkSize(const std::string& key, const std::vector<int64_t>& hidden, int64_t in,
                      int64_t out, int copies) {
  double params = 0, width = static_cast<double>(in);
  for (const int64_t h : hidden) {
    params += (width + 1) * static_cast<double>(h);
    width = static_cast<double>(h);
  }
  params = copies * (params + (width + 1) * static_cast<double>(out));
  if (params > kMaxParameters) {
    char text[64];
    std::snprintf(text, sizeof text, "%.3g", params);
    throw Error(key + ": these layer sizes need " + text +
                " parameters, more than the limit of 268,435,456 (2^28)");
  }
}

// A PPO rollout (env.num_envs x ppo.num_steps rows of obs_size values) must fit in memory and
// hold at least one row per minibatch.
void CheckRollout(const TrainConfig& c, int64_t obs_size) {
  const int64_t batch = static_cast<int64_t>(c.env.num_envs) * c.ppo.num_steps;
  if (static_cast<double>(batch) * static_cast<double>(obs_size) > kMaxParameters)
    throw Error("ppo.num_steps: env.num_envs x ppo.num_steps = " + std::to_string(batch) +
                " rollout rows of " + std::to_string(obs_size) +
                " observation values exceed the limit of 268,435,456 values");
  if (batch < c.ppo.num_minibatches) {
    throw Error("ppo.num_minibatches: expected at most env.num_envs x ppo.num_steps = " +
                std::to_string(batch));
  }
}

void PpoChecks(const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
  CheckNetworkSize("ppo.hidden", c.ppo.hidden, obs.size(), act.size() + 1, 2);
  CheckRollout(c, obs.size());
  if (act.kind() != Space::Kind::kDiscrete && act.kind() != Space::Kind::kMultiDiscrete &&
      act.kind() != Space::Kind::kBox) {
    throw Error("algo: " + c.algo + " does not support the action space " + act.ToString());
  }
}

void SacChecks(const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
  NeedsBoundedBox(c, act);
  CheckNetworkSize("sac.hidden", c.sac.hidden, obs.size() + act.size(), 2 * act.size(), 5);
}

// SAC's runs default to a continuous env and one env (CleanRL's sac_continuous_action.py), so
// `train --set algo=sac` runs what `config show sac` shows.
void SacDefaults(TrainConfig& c) {
  c.env.id = "Pendulum-v1";
  c.env.num_envs = 1;
}

// A2C (SB3 / seed 001): 5-step rollouts, one gradient step, no clipping, on PPO's loop.
void A2cDefaults(TrainConfig& c) {
  c.ppo.a2c = true;
  c.ppo.num_steps = 5;
  c.ppo.update_epochs = 1;
  c.ppo.num_minibatches = 1;
  c.ppo.learning_rate = 7e-4;
  c.ppo.gae_lambda = 1.0;
  c.ppo.norm_adv = false;
  c.ppo.clip_vloss = false;
  c.ppo.anneal_lr = false;
}

// DreamerV3: Box observations (float32 vectors, or uint8 images whose sides halve 4 times),
// Discrete or Box actions; its own checks of the section.
void DreamerChecks(const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
  const auto& shape = obs.shape();
  const bool vector = obs.dtype() == DType::kFloat32 && shape.size() == 1;
  const bool image = obs.dtype() == DType::kUInt8 && (shape.size() == 2 || shape.size() == 3);
  if (obs.kind() != Space::Kind::kBox || !(vector || image)) {
    throw Error(
        "env.id: algo: dreamer needs a Box observation space of float32 vectors or uint8 "
        "images (H x W or H x W x C), but " +
        c.env.id + " has " + obs.ToString());
  }
  // the replay is allocated whole at the start: refuse one larger than half of this machine
  const double replay_bytes =
      static_cast<double>(c.dreamer.buffer_size) * static_cast<double>(obs.nbytes());
  const double memory =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && replay_bytes > 0.5 * memory) {
    throw Error("dreamer.buffer_size: " + std::to_string(c.dreamer.buffer_size) + " steps of " +
                std::to_string(obs.nbytes()) + "-byte observations need " +
                std::to_string(static_cast<int64_t>(replay_bytes / 1e9)) +
                " GB, more than half of this machine's " +
                std::to_string(static_cast<int64_t>(memory / 1e9)) + " GB; expected at most " +
                std::to_string(static_cast<int64_t>(0.5 * memory / obs.nbytes())) + " steps");
  }
  if (image && (shape[0] % 16 != 0 || shape[1] % 16 != 0)) {
    throw Error(
        "env.resize: algo: dreamer's CNN halves the image 4 times, so its height and "
        "width must be multiples of 16, but " +
        c.env.id + " observes " + obs.ToString() + " (e.g. env.resize: [64, 64])");
  }
  if (act.kind() != Space::Kind::kDiscrete &&
      !(act.kind() == Space::Kind::kBox && act.is_bounded())) {
    throw Error("env.id: algo: dreamer needs a Discrete or bounded Box action space, but " +
                c.env.id + " has " + act.ToString());
  }
  c.dreamer.Validate();
}

// DreamerV3's runs: one env (official dmc_proprio: 1 env per policy step count), its official
// evaluation samples actions.
void DreamerDefaults(TrainConfig& c) {
  c.env.num_envs = 1;
  c.eval.deterministic = false;
}

// MAPPO and IPPO: the joint view's spaces (one action space for all agents); the env's own
// observation normalizers do not apply (ValueNorm normalizes the critic's targets).
void MappoChecks(const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
  if (c.env.normalize_observation || c.env.normalize_reward)
    throw Error(
        "env.normalize_observation / env.normalize_reward: not available for multi-agent "
        "envs (algo: " +
        c.algo + "); use mappo.value_norm");
  const int64_t agents = static_cast<int64_t>(act.nvec().empty() ? 1 : act.nvec().size());
  CheckNetworkSize("ppo.hidden", c.ppo.hidden, obs.size() + agents, act.size() + 1, 2);
  CheckRollout(c, obs.size());
}

// MAPPO (marlbenchmark/on-policy train_mpe_spread.sh) at a size this machine runs: episodes of
// 25 steps, 10 epochs of one minibatch, lr 7e-4, value loss weight 1, grad norm 10, no annealing;
// 32 rollout envs instead of 128. gamma 0.9: MAPPO's 0.99 comes with the 25-step cut treated as
// terminal (use_proper_time_limits false); here the cut bootstraps, so 0.99 would mean a
// ~100-step horizon (measured on simple_spread: a plateau at -13, against -9.5 at 2.7M steps).
void MappoDefaults(TrainConfig& c) {
  c.env.id = "simple_spread_v3";
  c.env.num_envs = 32;
  c.ppo.num_steps = 25;
  c.ppo.learning_rate = 7e-4;
  c.ppo.anneal_lr = false;
  c.ppo.update_epochs = 10;
  c.ppo.num_minibatches = 1;
  c.ppo.vf_coef = 1.0;
  c.ppo.max_grad_norm = 10.0;
  c.ppo.gamma = 0.9;
}

// IPPO as the MAPPO paper runs it: MAPPO's settings with each agent's critic on its own
// observation.
void IppoDefaults(TrainConfig& c) {
  MappoDefaults(c);
  c.mappo.centralized_critic = false;
}

// QMIX, VDN and independent DQN: one Discrete action per agent.
void QmixChecks(const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
  if (c.env.normalize_observation || c.env.normalize_reward)
    throw Error(
        "env.normalize_observation / env.normalize_reward: not available for multi-agent "
        "envs (algo: " +
        c.algo + ")");
  const std::vector<int64_t>& nvec = act.nvec();
  const bool one_head =
      act.kind() == Space::Kind::kMultiDiscrete &&
      std::all_of(nvec.begin(), nvec.end(), [&](int64_t n) { return n == nvec[0]; });
  if (!one_head)
    throw Error("algo: " + c.algo + " needs one Discrete action per agent, but env.id " + c.env.id +
                " has joint actions " + act.ToString() + " (use mappo or ippo)");
  const auto agents = static_cast<int64_t>(nvec.size());
  CheckNetworkSize("qmix.hidden", c.qmix.hidden, obs.size() / agents + agents, nvec[0], 2);
}

// VDN and QMIX as JaxMARL's ql_mpe.yaml sets them for MPE (8 envs, epsilon to 0.05 over 10% of
// the run, target copies every 200 updates, gamma 0.9), with pymarl's mixer and Adam 5e-4.
void QmixDefaults(TrainConfig& c) {
  c.env.id = "simple_spread_v3";
  c.env.num_envs = 8;
}
void VdnDefaults(TrainConfig& c) {
  QmixDefaults(c);
  c.qmix.mixer = "vdn";
}
void IqlDefaults(TrainConfig& c) {
  QmixDefaults(c);
  c.qmix.mixer = "none";
}

std::vector<AlgorithmInfo>& Table() {
  static std::vector<AlgorithmInfo> table = {
      {"ppo",
       "PPO (CleanRL ppo.py / ppo_continuous_action.py)",
       "",
       nullptr,
       PpoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; },
       MakePpo,
       {"ppo"},
       false,
       true},
      {"a2c",
       "A2C (SB3 defaults) on PPO's loop",
       "",
       A2cDefaults,
       PpoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; },
       [](const TrainConfig& c, const std::string& dir) {
         TrainConfig a2c = c;
         a2c.ppo.a2c = true;
         return MakePpo(a2c, dir);
       },
       {"ppo"},
       false,
       true},
      {"dqn",
       "DQN (CleanRL dqn.py)",
       "",
       nullptr,
       [](const TrainConfig& c, const Space& obs, const Space& act, int64_t) {
         CheckNetworkSize("dqn.hidden", c.dqn.hidden, obs.size(), act.size(), 2);
         if (act.kind() != Space::Kind::kDiscrete)
           throw Error("algo: dqn needs a Discrete action space, but env.id " + c.env.id + " has " +
                       act.ToString() + " (use ppo or sac)");
       },
       [](const TrainConfig& c) { return c.dqn.gamma; },
       MakeDqn,
       {"dqn"},
       false,
       true},
      {"sac",
       "SAC (CleanRL sac_continuous_action.py)",
       "",
       SacDefaults,
       SacChecks,
       [](const TrainConfig& c) { return c.sac.gamma; },
       MakeSac,
       {"sac"},
       false,
       true},
      {"pebble",
       "PEBBLE (BPref): SAC on a reward learned from preferences",
       "",
       SacDefaults,
       [](const TrainConfig& c, const Space& obs, const Space& act, int64_t max_steps) {
         SacChecks(c, obs, act, max_steps);
         CheckNetworkSize("pebble.reward_model.hidden", c.pebble.reward_model.hidden,
                          obs.size() + act.size(), 1, c.pebble.reward_model.ensemble_size);
         c.pebble.Validate(max_steps);
       },
       [](const TrainConfig& c) { return c.sac.gamma; },
       MakePebble,
       {"pebble", "sac"}},
      {"mappo",
       "MAPPO (marlbenchmark/on-policy): shared PPO policy, critic on the global state",
       "",
       MappoDefaults,
       MappoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; },
       MakeMappo,
       {"ppo", "mappo"},
       true},
      {"ippo",
       "IPPO (the MAPPO paper's): MAPPO with each critic on its agent's own observation",
       "",
       IppoDefaults,
       MappoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; },
       MakeMappo,
       {"ppo", "mappo"},
       true},
      {"qmix",
       "QMIX (pymarl): agents' Q values mixed monotonically by hypernetworks on the state",
       "",
       QmixDefaults,
       QmixChecks,
       [](const TrainConfig& c) { return c.qmix.gamma; },
       [](const TrainConfig& c, const std::string& dir) {
         TrainConfig t = c;
         t.qmix.mixer = "qmix";
         return MakeQmix(t, dir);
       },
       {"qmix"},
       true},
      {"vdn",
       "VDN (pymarl): the team's Q value is the sum of the agents'",
       "",
       VdnDefaults,
       QmixChecks,
       [](const TrainConfig& c) { return c.qmix.gamma; },
       [](const TrainConfig& c, const std::string& dir) {
         TrainConfig t = c;
         t.qmix.mixer = "vdn";
         return MakeQmix(t, dir);
       },
       {"qmix"},
       true},
      {"iql",
       "independent DQN per agent (shared network), each on its own reward",
       "",
       IqlDefaults,
       QmixChecks,
       [](const TrainConfig& c) { return c.qmix.gamma; },
       [](const TrainConfig& c, const std::string& dir) {
         TrainConfig t = c;
         t.qmix.mixer = "none";
         return MakeQmix(t, dir);
       },
       {"qmix"},
       true},
      {"dreamer",
       "DreamerV3 (danijar/dreamerv3, 2024 version), vector and image observations",
       "dreamer",
       DreamerDefaults,
       DreamerChecks,
       [](const TrainConfig& c) { return c.dreamer.gamma(); },
       nullptr,
       {"dreamer"}},
  };
  return table;
}

}  // namespace

const std::vector<AlgorithmInfo>& Algorithms() { return Table(); }

std::vector<std::string> AlgorithmNames() {
  std::vector<std::string> names;
  for (const auto& info : Table()) names.push_back(info.name);
  return names;
}

const AlgorithmInfo& Find(const std::string& name) {
  for (const auto& info : Table()) {
    if (info.name == name) return info;
  }
  std::string names;
  for (const auto& n : AlgorithmNames()) names += (names.empty() ? "" : ", ") + n;
  throw Error("algo: unknown algorithm \"" + name + "\" (expected one of " + names + ")");
}

const AlgorithmInfo& FindLoaded(const std::string& name) {
  const AlgorithmInfo& info = Find(name);
  if (info.make) return info;
  LoadPlugin(info.plugin);
  const AlgorithmInfo& loaded = Find(name);
  if (!loaded.make)
    throw Error("algo: " + name + ": plugin " + info.plugin + " loaded but did not register it");
  return loaded;
}

void Register(AlgorithmInfo info) {
  for (auto& entry : Table()) {
    if (entry.name == info.name) {
      entry = std::move(info);
      return;
    }
  }
  Table().push_back(std::move(info));
}

void LoadPlugin(const std::string& name_or_path) {
  static std::mutex mutex;
  static std::set<void*> registered;
  const std::lock_guard<std::mutex> lock(mutex);
  void* library = OpenLibrary(name_or_path, "plugin " + name_or_path);
  if (registered.count(library)) return;
  auto* entry =
      reinterpret_cast<void (*)()>(LibrarySymbol(library, name_or_path, "rlforge_register"));
  entry();
  registered.insert(library);
}

}  // namespace rlforge::algos
