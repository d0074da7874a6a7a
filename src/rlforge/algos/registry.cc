#include "rlforge/algos/registry.h"

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

void PpoChecks(const TrainConfig& c, const Space&, const Space& act, int64_t) {
  const int64_t batch = static_cast<int64_t>(c.env.num_envs) * c.ppo.num_steps;
  if (batch < c.ppo.num_minibatches) {
    throw Error("ppo.num_minibatches: expected at most env.num_envs x ppo.num_steps = " +
                std::to_string(batch));
  }
  if (act.kind() != Space::Kind::kDiscrete && act.kind() != Space::Kind::kMultiDiscrete &&
      act.kind() != Space::Kind::kBox) {
    throw Error("algo: " + c.algo + " does not support the action space " + act.ToString());
  }
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

std::vector<AlgorithmInfo>& Table() {
  static std::vector<AlgorithmInfo> table = {
      {"ppo", "PPO (CleanRL ppo.py / ppo_continuous_action.py)", "", nullptr, PpoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; }, MakePpo},
      {"a2c", "A2C (SB3 defaults) on PPO's loop", "", A2cDefaults, PpoChecks,
       [](const TrainConfig& c) { return c.ppo.gamma; },
       [](const TrainConfig& c, const std::string& dir) {
         TrainConfig a2c = c;
         a2c.ppo.a2c = true;
         return MakePpo(a2c, dir);
       }},
      {"dqn", "DQN (CleanRL dqn.py)", "", nullptr,
       [](const TrainConfig& c, const Space&, const Space& act, int64_t) {
         if (act.kind() != Space::Kind::kDiscrete)
           throw Error("algo: dqn needs a Discrete action space, but env.id " + c.env.id + " has " +
                       act.ToString() + " (use ppo or sac)");
       },
       [](const TrainConfig& c) { return c.dqn.gamma; }, MakeDqn},
      {"sac", "SAC (CleanRL sac_continuous_action.py)", "", nullptr,
       [](const TrainConfig& c, const Space&, const Space& act, int64_t) {
         NeedsBoundedBox(c, act);
       },
       [](const TrainConfig& c) { return c.sac.gamma; }, MakeSac},
      {"pebble", "PEBBLE (BPref): SAC on a reward learned from preferences", "", nullptr,
       [](const TrainConfig& c, const Space&, const Space& act, int64_t max_steps) {
         NeedsBoundedBox(c, act);
         c.pebble.Validate(max_steps);
       },
       [](const TrainConfig& c) { return c.sac.gamma; }, MakePebble},
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
