// The algorithms a config's `algo:` can name. Adding one is a folder under algos/ (its config
// struct and its loop, a train::Algorithm) plus its section in AlgoConfigs and its entry in
// registry.cc. An algorithm that needs LibTorch lives in a plugin (a shared library loaded with
// dlopen when a run names it), so the CLI itself links no LibTorch.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rlforge/algos/dqn/dqn.h"
#include "rlforge/algos/dreamer/config.h"
#include "rlforge/algos/mappo/mappo.h"
#include "rlforge/algos/pebble/config.h"
#include "rlforge/algos/ppo/ppo.h"
#include "rlforge/algos/qmix/qmix.h"
#include "rlforge/algos/sac/sac.h"
#include "rlforge/core/spaces.h"

namespace rlforge::train {
struct TrainConfig;
class Algorithm;
}  // namespace rlforge::train

namespace rlforge::algos {

// Every algorithm's section of a config (top-level keys ppo:, dqn:, sac:, pebble:, dreamer:,
// mappo:, qmix:).
struct AlgoConfigs {
  PpoConfig ppo;                // ppo and a2c
  DqnConfig dqn;                // dqn
  SacConfig sac;                // sac, and pebble's learner
  pebble::PebbleConfig pebble;  // pebble
  DreamerConfig dreamer;        // dreamer (its math in the plugin librlforge_dreamer.so)
  MappoConfig mappo;            // mappo and ippo (their PPO knobs in ppo)
  QmixConfig qmix;              // qmix, vdn and iql

  template <class V>
  void VisitAlgos(V& v) {
    v.Section("ppo", ppo, "PPO / A2C hyperparameters");
    v.Section("dqn", dqn, "DQN hyperparameters");
    v.Section("sac", sac, "SAC hyperparameters (also PEBBLE's learner)");
    v.Section("pebble", pebble, "PEBBLE: preference-based reward learning on SAC");
    v.Section("dreamer", dreamer, "DreamerV3 (2024 version): world model and imagination");
    v.Section("mappo", mappo, "MAPPO / IPPO: the multi-agent knobs (their PPO knobs are in ppo)");
    v.Section("qmix", qmix, "QMIX / VDN / independent DQN: value decomposition on a replay");
  }
};

struct AlgorithmInfo {
  std::string name;     // what `algo:` says
  std::string summary;  // one line for `config show --help`
  // "" when built in; else the plugin (librlforge_<plugin>.so) whose rlforge_register() fills
  // in `make`: its math runs in LibTorch
  std::string plugin;
  // Defaults before the YAML is read (A2C's differ from PPO's); may be empty.
  std::function<void(train::TrainConfig&)> defaults;
  // Clear errors for spaces or settings the algorithm cannot work with; may be empty.
  std::function<void(const train::TrainConfig&, const Space& observation_space,
                     const Space& action_space, int64_t max_episode_steps)>
      validate;
  // The discount the reward normalization wrapper uses.
  std::function<double(const train::TrainConfig&)> gamma;
  // The algorithm, its envs made and reset with the config's seed; run_dir may be "" (eval).
  std::function<std::unique_ptr<train::Algorithm>(const train::TrainConfig&,
                                                  const std::string& run_dir)>
      make;
  // The config sections it reads (TensorBoard's hparams, reports).
  std::vector<std::string> sections;
  // It trains on multi-agent envs (env/multi_agent.h); `validate` then sees the env's joint view.
  bool multi_agent = false;
  // It runs as one job across the ranks of `mpirun -np N` (dist/comm.h); else one process only.
  bool distributed = false;
};

// The registered algorithms, built in first.
const std::vector<AlgorithmInfo>& Algorithms();
std::vector<std::string> AlgorithmNames();
// The entry for `name` (its plugin loaded if it has one), or an Error listing the names.
const AlgorithmInfo& Find(const std::string& name);
const AlgorithmInfo& FindLoaded(const std::string& name);
// Adds or replaces an entry (plugins call it from rlforge_register()).
void Register(AlgorithmInfo info);

// Loads a plugin: `name_or_path` is a path to a .so, or a name looked up as librlforge_<name>.so
// (core/library.h says where). The library's extern "C" void rlforge_register() is called once.
// Errors name the file.
void LoadPlugin(const std::string& name_or_path);

}  // namespace rlforge::algos
