// Env registry by Gymnasium id: make(id, kwargs) with max_episode_steps and reward_threshold.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "rlforge/env/env.h"
#include "rlforge/env/vector_env.h"

namespace rlforge::env {

// A kwarg value; a list of numbers stands for a Python tuple such as healthy_z_range=(0.7, inf).
using KwValue = std::variant<bool, int64_t, double, std::string, std::vector<double>>;
using Kwargs = std::map<std::string, KwValue>;

// One keyword argument an env accepts: its name, default (which fixes its type) and meaning.
struct KwargSpec {
  std::string name;
  KwValue default_value;
  std::string description;
};

// Validated kwargs with defaults filled in, handed to an env's factory.
class KwargReader {
 public:
  explicit KwargReader(Kwargs values) : values_(std::move(values)) {}
  bool Bool(const std::string& name) const { return std::get<bool>(values_.at(name)); }
  int64_t Int(const std::string& name) const { return std::get<int64_t>(values_.at(name)); }
  double Double(const std::string& name) const { return std::get<double>(values_.at(name)); }
  const std::string& String(const std::string& name) const {
    return std::get<std::string>(values_.at(name));
  }
  const std::vector<double>& Numbers(const std::string& name) const {
    return std::get<std::vector<double>>(values_.at(name));
  }

 private:
  Kwargs values_;
};

struct EnvEntry {
  EnvSpec spec;
  std::string description;  // one line
  std::vector<KwargSpec> kwargs;
  std::function<std::unique_ptr<Env>(const KwargReader&)> factory;
};

void Register(EnvEntry entry);
std::vector<std::string> RegisteredIds();
// Throws a clear Error for an unknown id, suggesting close ids.
const EnvEntry& Lookup(const std::string& id);

// Creates the env, validates kwargs (unknown name or wrong type = Error) and wraps it in a
// TimeLimit. Accepted by every env: max_episode_steps (int), render_mode ("rgb_array").
std::unique_ptr<Env> Make(const std::string& id, const Kwargs& kwargs = {});
std::unique_ptr<VectorEnv> MakeVector(const std::string& id, int num_envs, int num_threads = 1,
                                      const Kwargs& kwargs = {});

// Parses "key=value" strings: true/false -> bool, integers -> int, numbers -> double,
// "[a, b]" or "(a, b)" -> list of numbers (inf allowed), else string.
Kwargs ParseKwargs(const std::vector<std::string>& items);
std::string KwValueToString(const KwValue& v);

}  // namespace rlforge::env
