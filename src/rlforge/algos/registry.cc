#include "rlforge/algos/registry.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "rlforge/algos/builtin.h"
#include "rlforge/core/error.h"
#include "rlforge/train/config.h"

namespace rlforge::algos {
namespace {

namespace fs = std::filesystem;
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
      {"pebble", "PEBBLE (BPref): SAC on a reward learned from preferences", "pebble", nullptr,
       [](const TrainConfig& c, const Space&, const Space& act, int64_t max_steps) {
         NeedsBoundedBox(c, act);
         c.pebble.Validate(max_steps);
       },
       [](const TrainConfig& c) { return c.sac.gamma; }, nullptr},
  };
  return table;
}

std::mutex g_plugins_mutex;

// Where librlforge_<name>.so may be: $RLFORGE_PLUGIN_DIR, the executable's folder, this
// library's folder.
std::vector<fs::path> PluginDirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("RLFORGE_PLUGIN_DIR")) dirs.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path());
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&PluginDirs), &info) != 0 && info.dli_fname != nullptr)
    dirs.push_back(fs::absolute(info.dli_fname).parent_path());
  return dirs;
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
  const std::lock_guard<std::mutex> lock(g_plugins_mutex);
  static std::vector<std::string> loaded;
  fs::path path = name_or_path;
  if (name_or_path.find('/') == std::string::npos) {
    const std::string file = "librlforge_" + name_or_path + ".so";
    path.clear();
    for (const fs::path& dir : PluginDirs()) {
      if (fs::exists(dir / file)) {
        path = dir / file;
        break;
      }
    }
    if (path.empty())
      throw Error("plugin " + name_or_path + ": " + file +
                  " not found (looked in $RLFORGE_PLUGIN_DIR, beside the executable and beside "
                  "librlforge_train.so); it is built with LibTorch (cmake -DRLFORGE_TORCH=ON)");
  }
  const std::string key = fs::weakly_canonical(path).string();
  for (const auto& k : loaded) {
    if (k == key) return;
  }
  void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw Error("plugin " + key + ": cannot load: " + dlerror());
  auto* entry = reinterpret_cast<void (*)()>(dlsym(handle, "rlforge_register"));
  if (entry == nullptr) {
    dlclose(handle);
    throw Error("plugin " + key + ": no rlforge_register() in it (not an rlforge plugin)");
  }
  entry();
  loaded.push_back(key);  // kept loaded for the process's life: its code is in the table
}

}  // namespace rlforge::algos
