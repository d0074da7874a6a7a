#include "rlforge/env/registry.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "rlforge/core/error.h"
#include "rlforge/env/multi_agent.h"
#include "rlforge/env/wrappers.h"
#include "rlforge/envs/classic_control/classic_control.h"
#include "rlforge/envs/mpe/mpe.h"
#ifdef RLFORGE_HAVE_BOX2D
#include "rlforge/envs/box2d/box2d_envs.h"
#endif
#ifdef RLFORGE_HAVE_MUJOCO
#include "rlforge/envs/mujoco/mujoco_env.h"
#endif

namespace rlforge::env {
namespace {

std::map<std::string, EnvEntry>& Table() {
  static std::map<std::string, EnvEntry> table;
  return table;
}

std::map<std::string, MultiAgentEntry>& MultiAgentTable() {
  static std::map<std::string, MultiAgentEntry> table;
  return table;
}

void EnsureBuiltins() {
  static std::once_flag once;
  std::call_once(once, [] {
    envs::RegisterClassicControl();
#ifdef RLFORGE_HAVE_MUJOCO
    envs::mujoco::RegisterMujoco();
#endif
#ifdef RLFORGE_HAVE_BOX2D
    envs::box2d::RegisterBox2d();
#endif
    envs::mpe::RegisterMpe();
  });
}

const char* TypeName(const KwValue& v) {
  switch (v.index()) {
    case 0:
      return "a bool (true/false)";
    case 1:
      return "an integer";
    case 2:
      return "a number";
    case 3:
      return "a string";
    default:
      return "a list of numbers like [0.7, inf]";
  }
}

// Converts `given` to the type of `like`; ints widen to doubles, nothing else converts.
KwValue Coerce(const std::string& where, const KwValue& like, const KwValue& given) {
  if (like.index() == given.index()) {
    const auto* list = std::get_if<std::vector<double>>(&like);
    if (list && list->size() != std::get<std::vector<double>>(given).size()) {
      throw Error(where + ": expected " + std::to_string(list->size()) + " numbers, got " +
                  KwValueToString(given));
    }
    return given;
  }
  if (std::holds_alternative<double>(like) && std::holds_alternative<int64_t>(given)) {
    return static_cast<double>(std::get<int64_t>(given));
  }
  throw Error(where + ": expected " + TypeName(like) + ", got " + KwValueToString(given));
}

}  // namespace

std::string KwValueToString(const KwValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<bool>(v) ? "true" : "false";
    case 1:
      return std::to_string(std::get<int64_t>(v));
    case 2:
      return FormatNumber(std::get<double>(v), DType::kFloat64);
    case 3:
      return "\"" + std::get<std::string>(v) + "\"";
    default: {
      std::string text = "[";
      for (double x : std::get<std::vector<double>>(v)) {
        text += (text.size() > 1 ? ", " : "") + FormatNumber(x, DType::kFloat64);
      }
      return text + "]";
    }
  }
}

void Register(EnvEntry entry) {
  const std::string id = entry.spec.id;
  Table()[id] = std::move(entry);
}

std::vector<std::string> RegisteredIds() {
  EnsureBuiltins();
  std::vector<std::string> ids;
  for (const auto& [id, entry] : Table()) ids.push_back(id);
  return ids;
}

const EnvEntry& Lookup(const std::string& id) {
  EnsureBuiltins();
  const auto it = Table().find(id);
  if (it != Table().end()) return it->second;
  if (MultiAgentTable().count(id))
    throw Error("'" + id +
                "' is a multi-agent env (PettingZoo's parallel API): use "
                "env::MakeMultiAgent, or a multi-agent algorithm");
  std::string message = "unknown env id '" + id + "'";
  std::vector<std::string> ids = RegisteredIds(), multi = MultiAgentIds();
  ids.insert(ids.end(), multi.begin(), multi.end());
  const auto close = ClosestNames(id, ids);
  if (!close.empty()) {
    message += "; did you mean ";
    for (size_t i = 0; i < close.size(); ++i) message += (i ? " or '" : "'") + close[i] + "'";
    message += "?";
  }
  message += " (`rlforge envs` lists every id";
#ifndef RLFORGE_HAVE_MUJOCO
  message += "; this build has no MuJoCo envs: RLFORGE_MUJOCO=OFF";
#endif
#ifndef RLFORGE_HAVE_BOX2D
  message += "; this build has no Box2D envs: RLFORGE_BOX2D=OFF";
#endif
  throw Error(message + ")");
}

namespace {

// The factory's kwargs: defaults, then the given values checked against `specs` (errors name the
// env and the kwarg). render_mode is accepted by every env; max_episode_steps only where
// `max_episode_steps` is given.
Kwargs ResolveKwargs(const std::string& id, const std::vector<KwargSpec>& specs,
                     const Kwargs& kwargs, int* max_episode_steps) {
  Kwargs values;
  for (const auto& spec : specs) values[spec.name] = spec.default_value;
  for (const auto& item : kwargs) {
    const std::string& name = item.first;
    const KwValue& value = item.second;
    const std::string where = id + ": kwarg '" + name + "'";
    if (name == "max_episode_steps" && max_episode_steps) {
      const auto steps = std::get<int64_t>(Coerce(where, int64_t{0}, value));
      if (steps <= 0 || steps > 1'000'000'000) throw Error(where + ": expected a positive integer");
      *max_episode_steps = static_cast<int>(steps);
      continue;
    }
    if (name == "render_mode") {
      const auto mode = std::get<std::string>(Coerce(where, std::string(), value));
      if (mode != "rgb_array")
        throw Error(where + ": expected \"rgb_array\", got \"" + mode + "\"");
      continue;
    }
    const auto it = std::find_if(specs.begin(), specs.end(),
                                 [&](const KwargSpec& k) { return k.name == name; });
    if (it == specs.end()) {
      std::string accepted = max_episode_steps ? "max_episode_steps, render_mode" : "render_mode";
      for (const auto& k : specs) accepted += ", " + k.name;
      throw Error(id + ": unknown kwarg '" + name + "' (accepted: " + accepted + ")");
    }
    values[name] = Coerce(where, it->default_value, value);
  }
  return values;
}

}  // namespace

std::unique_ptr<Env> Make(const std::string& id, const Kwargs& kwargs) {
  const EnvEntry& entry = Lookup(id);
  EnvSpec spec = entry.spec;
  Kwargs values = ResolveKwargs(id, entry.kwargs, kwargs, &spec.max_episode_steps);
  std::unique_ptr<Env> env = entry.factory(KwargReader(std::move(values)));
  env->set_spec(spec);
  if (spec.max_episode_steps > 0)
    env = std::make_unique<TimeLimit>(std::move(env), spec.max_episode_steps);
  return env;
}

// ---- multi-agent envs ---------------------------------------------------------------------

void RegisterMultiAgent(MultiAgentEntry entry) {
  const std::string id = entry.spec.id;
  MultiAgentTable()[id] = std::move(entry);
}

std::vector<std::string> MultiAgentIds() {
  EnsureBuiltins();
  std::vector<std::string> ids;
  for (const auto& [id, entry] : MultiAgentTable()) ids.push_back(id);
  return ids;
}

bool IsMultiAgent(const std::string& id) {
  EnsureBuiltins();
  return MultiAgentTable().count(id) > 0;
}

const MultiAgentEntry& LookupMultiAgent(const std::string& id) {
  EnsureBuiltins();
  const auto it = MultiAgentTable().find(id);
  if (it != MultiAgentTable().end()) return it->second;
  std::string message = "unknown multi-agent env id '" + id + "'";
  if (Table().count(id)) message += " (it is a single-agent env)";
  const auto close = ClosestNames(id, MultiAgentIds());
  if (!close.empty()) {
    message += "; did you mean ";
    for (size_t i = 0; i < close.size(); ++i) message += (i ? " or '" : "'") + close[i] + "'";
    message += "?";
  }
  throw Error(message + " (`rlforge envs` lists every id)");
}

std::unique_ptr<MultiAgentEnv> MakeMultiAgent(const std::string& id, const Kwargs& kwargs) {
  const MultiAgentEntry& entry = LookupMultiAgent(id);
  return entry.factory(KwargReader(ResolveKwargs(id, entry.kwargs, kwargs, nullptr)));
}

std::unique_ptr<VectorEnv> MakeVector(const std::string& id, int num_envs, int num_threads,
                                      const Kwargs& kwargs) {
  if (num_envs < 1)
    throw Error("num_envs: expected a positive integer, got " + std::to_string(num_envs));
  if (num_threads < 1)
    throw Error("threads: expected a positive integer, got " + std::to_string(num_threads));
  std::vector<std::unique_ptr<Env>> envs;
  for (int i = 0; i < num_envs; ++i) envs.push_back(Make(id, kwargs));
  return std::make_unique<VectorEnv>(std::move(envs), num_threads);
}

namespace {

// "[0.7, inf]" or "(0.7, inf)" -> {0.7, inf}.
std::vector<double> ParseNumberList(const std::string& key, const std::string& text) {
  const char close = text.front() == '[' ? ']' : ')';
  const std::string fail =
      "kwarg '" + key + "': expected a list of numbers like [0.7, inf], got " + text;
  if (text.back() != close) throw Error(fail);
  std::vector<double> numbers;
  std::stringstream items(text.substr(1, text.size() - 2));
  for (std::string item; std::getline(items, item, ',');) {
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    if (first == std::string::npos) throw Error(fail);
    const std::string word = item.substr(first, last - first + 1);
    char* end = nullptr;
    const double x = std::strtod(word.c_str(), &end);
    if (*end != '\0' || std::isnan(x)) throw Error(fail);
    numbers.push_back(x);
  }
  return numbers;
}

}  // namespace

Kwargs ParseKwargs(const std::vector<std::string>& items) {
  Kwargs kwargs;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error("kwarg '" + item + "': expected key=value");
    }
    const std::string key = item.substr(0, eq);
    const std::string text = item.substr(eq + 1);
    if (!text.empty() && (text.front() == '[' || text.front() == '(')) {
      kwargs[key] = ParseNumberList(key, text);
    } else if (text == "true" || text == "True") {
      kwargs[key] = true;
    } else if (text == "false" || text == "False") {
      kwargs[key] = false;
    } else {
      char* end = nullptr;
      errno = 0;
      const long long as_int = std::strtoll(text.c_str(), &end, 10);
      if (!text.empty() && *end == '\0' && errno == 0) {
        kwargs[key] = static_cast<int64_t>(as_int);
        continue;
      }
      const double as_double = std::strtod(text.c_str(), &end);
      if (!text.empty() && *end == '\0') {
        if (!std::isfinite(as_double))  // nan, inf: no env parameter means that
          throw Error("kwarg '" + key + "': expected a finite number, got " + text);
        kwargs[key] = as_double;
      } else {
        kwargs[key] = text;
      }
    }
  }
  return kwargs;
}

}  // namespace rlforge::env
