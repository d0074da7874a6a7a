// Typed configuration from YAML. A config struct lists its knobs once, in a Visit() method:
//
//   struct PpoConfig {
//     double clip_coef = 0.2;
//     template <class V> void Visit(V& v) {
//       v("clip_coef", clip_coef, "surrogate clipping coefficient (CleanRL: 0.2)",
//       Range::OpenClosed(0, 1));
//     }
//   };
//
// and the visitors below read it from YAML (every error names the key path and what was
// expected; unknown keys are errors), write it back as YAML, and describe it for `config show`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "rlforge/core/error.h"
#include "rlforge/core/spaces.h"

namespace rlforge::config {

// Allowed interval of a number; printed like (0, 1].
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = true, hi_open = true;

  static Range Any() { return {}; }
  static Range Positive() { return {0, std::numeric_limits<double>::infinity(), true, true}; }
  static Range NonNegative() { return {0, std::numeric_limits<double>::infinity(), false, true}; }
  static Range Closed(double a, double b) { return {a, b, false, false}; }
  static Range OpenClosed(double a, double b) { return {a, b, true, false}; }
  bool Contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  std::string ToString() const;
};

// One of a fixed set of strings.
struct Choices {
  std::vector<std::string> options;
};

// Reads a config struct from a YAML mapping; `path` is the key path of the mapping ("ppo").
class Reader {
 public:
  Reader(const YAML::Node& node, std::string path);

  template <typename T>
  void operator()(const char* key, T& value, const char* description, Range range = Range::Any()) {
    const std::optional<YAML::Node> n = Take(key);
    if (!n) return;  // keep the default
    value = Parse<T>(*n, Where(key), range);
  }
  void operator()(const char* key, std::string& value, const char* description,
                  const Choices& choices);
  // A nested section (a struct with its own Visit).
  template <typename S>
  void Section(const char* key, S& section, const char* description) {
    const std::optional<YAML::Node> n = Take(key);
    if (n && !n->IsMap()) throw Error(Where(key) + ": expected a mapping of keys");
    Reader child(n ? *n : YAML::Node(YAML::NodeType::Map), Where(key));
    section.Visit(child);
    child.Finish();
  }
  // Free-form key -> scalar pairs (e.g. env kwargs), returned as text.
  void operator()(const char* key, std::map<std::string, std::string>& value,
                  const char* description);

  void Finish() const;  // any key not visited is an error

 private:
  std::optional<YAML::Node> Take(const char* key);  // nullopt when absent or null
  std::string Where(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  template <typename T>
  T Parse(const YAML::Node& n, const std::string& where, const Range& range) const;

  YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

// A float as YAML 1.1 readers (PyYAML) take for a float, not a string: Python's repr, with a
// '.' in the mantissa ("1.0e-05", "10.0", ".inf").
std::string YamlNumber(double v);

// Writes a config struct as YAML (the fully resolved config of a run).
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}
  template <typename T>
  void operator()(const char* key, const T& value, const char*, Range = Range::Any()) {
    out_ << YAML::Key << key << YAML::Value;
    if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
      out_ << YamlNumber(value);
    } else {
      out_ << value;
    }
  }
  void operator()(const char* key, const std::string& value, const char*, const Choices&) {
    out_ << YAML::Key << key << YAML::Value << value;
  }
  void operator()(const char* key, const std::map<std::string, std::string>& value, const char*);
  template <typename S>
  void Section(const char* key, const S& section, const char*) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    const_cast<S&>(section).Visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  YAML::Emitter& out_;
};

// Lists every knob: "ppo.clip_coef = 0.2  (0, 1]  surrogate clipping coefficient ...".
class Describer {
 public:
  struct Line {
    std::string path, value, allowed, description;
  };
  explicit Describer(std::string path = "") : path_(std::move(path)) {}
  template <typename T>
  void operator()(const char* key, const T& value, const char* description,
                  Range range = Range::Any()) {
    std::string text;
    if constexpr (std::is_same_v<T, bool>) {
      text = value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
      text = "\"" + value + "\"";
    } else if constexpr (std::is_floating_point_v<T>) {
      text = FormatNumber(value, DType::kFloat64);
    } else if constexpr (std::is_integral_v<T>) {
      text = std::to_string(value);
    } else {  // lists
      text = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if constexpr (std::is_same_v<typename T::value_type, std::string>) {
          text += (i ? ", " : "") + value[i];
        } else {
          text += (i ? ", " : "") + std::to_string(value[i]);
        }
      }
      text += "]";
    }
    lines.push_back({Where(key), text,
                     std::is_arithmetic_v<T> && !std::is_same_v<T, bool> ? range.ToString() : "",
                     description});
  }
  void operator()(const char* key, const std::string& value, const char* description,
                  const Choices& choices);
  void operator()(const char* key, const std::map<std::string, std::string>& value,
                  const char* description);
  template <typename S>
  void Section(const char* key, const S& section, const char*) {
    Describer child(Where(key));
    const_cast<S&>(section).Visit(child);
    lines.insert(lines.end(), child.lines.begin(), child.lines.end());
  }

  std::vector<Line> lines;

 private:
  std::string Where(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string path_;
};

// Applies "a.b.c=value" overrides to a YAML tree (value parsed as YAML).
void ApplyOverride(YAML::Node& root, const std::string& assignment);

// Loads a YAML file; errors name the file (and line for syntax errors).
YAML::Node LoadFile(const std::string& path);

}  // namespace rlforge::config
