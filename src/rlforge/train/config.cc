#include "rlforge/train/config.h"

#include <algorithm>

#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/env/registry.h"
#include "rlforge/train/envs.h"

namespace rlforge::train {
namespace {

TrainConfig FromYaml(YAML::Node root, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) config::ApplyOverride(root, o);
  TrainConfig c;
  const YAML::Node& const_root = root;
  if (const_root["algo"] && const_root["algo"].IsScalar()) {
    // the algorithm's own defaults come before the file's values
    const std::string name = const_root["algo"].Scalar();
    for (const auto& info : algos::Algorithms()) {
      if (info.name == name && info.defaults) info.defaults(c);
    }
  }
  config::Reader reader(root, "");
  c.Visit(reader);
  reader.Finish();
  c.cloud.Included();
  const algos::AlgorithmInfo& algo = algos::Find(c.algo);
  const bool multi_agent = env::IsMultiAgent(c.env.id);
  if (!multi_agent) env::Lookup(c.env.id);  // unknown ids fail here, with suggestions
  if (multi_agent != algo.multi_agent) {
    std::string names;
    for (const auto& info : algos::Algorithms())
      if (info.multi_agent == multi_agent) names += (names.empty() ? "" : ", ") + info.name;
    throw Error("algo: " + c.algo + " is a " + (algo.multi_agent ? "multi" : "single") +
                "-agent algorithm but env.id " + c.env.id + " is a " +
                (multi_agent ? "multi" : "single") + "-agent env (its algorithms: " + names + ")");
  }
  const auto made = MakeEnv(c.env, algo.gamma(c));  // bad kwargs and env.resize fail here
  const auto probe = multi_agent ? env::MakeJoint(c.env.id, EnvKwargs(c.env))  // joint view
                                 : env::Make(c.env.id, EnvKwargs(c.env));      // own spaces
  if (algo.validate) {
    // observations as the run's wrappers give them (resized), actions as the env's own
    algo.validate(c, made->observation_space(), probe->action_space(),
                  probe->spec().max_episode_steps);
  }
  return c;
}

}  // namespace

std::vector<std::string> CloudConfig::Included() const {
  static const std::vector<std::string> kinds = {"checkpoints", "metrics", "tensorboard", "videos",
                                                 "report"};
  std::vector<std::string> out;
  std::string item;
  for (size_t i = 0; i <= include.size(); ++i) {
    if (i < include.size() && include[i] != ',') {
      if (include[i] != ' ') item += include[i];
      continue;
    }
    if (item.empty()) continue;
    if (std::find(kinds.begin(), kinds.end(), item) == kinds.end())
      throw Error("cloud.include: unknown item \"" + item +
                  "\"; expected a comma-separated list of checkpoints, metrics, tensorboard, "
                  "videos, report");
    out.push_back(item);
    item.clear();
  }
  return out;
}

TrainConfig LoadConfig(const std::string& file, const std::vector<std::string>& overrides) {
  return FromYaml(file.empty() ? YAML::Node(YAML::NodeType::Map) : config::LoadFile(file),
                  overrides);
}

TrainConfig LoadConfigText(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": saved config is not valid YAML (" + e.what() + ")");
  }
  try {
    return FromYaml(root, {});
  } catch (const Error& e) {
    throw Error(source + ": its saved config is invalid: " + e.what());
  }
}

std::string ToYaml(const TrainConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer writer(out);
  const_cast<TrainConfig&>(config).Visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace rlforge::train
