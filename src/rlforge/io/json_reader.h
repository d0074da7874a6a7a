// Typed reading of golden JSON files (io/golden.cc, io/golden_mpe.cc): every error names the
// file and the position in it.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rlforge/core/error.h"

namespace rlforge::io::internal {

using nlohmann::json;

// Reads typed keys of one JSON object, naming the file and position in every error.
class Reader {
 public:
  Reader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) Fail("expected a JSON object");
  }

  [[noreturn]] void Fail(const std::string& what) const { throw Error(where_ + ": " + what); }

  const json& Get(const std::string& key) const {
    const auto it = object_.find(key);
    if (it == object_.end()) Fail("missing key '" + key + "'");
    return *it;
  }
  bool Has(const std::string& key) const { return object_.contains(key); }

  int64_t Int(const std::string& key) const {
    const json& v = Get(key);
    if (!v.is_number_integer()) Fail("key '" + key + "': expected an integer, got " + v.dump());
    return v.get<int64_t>();
  }
  double Number(const std::string& key) const { return NumberOf(Get(key), "key '" + key + "'"); }
  bool Bool(const std::string& key) const {
    const json& v = Get(key);
    if (!v.is_boolean()) Fail("key '" + key + "': expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string String(const std::string& key) const {
    const json& v = Get(key);
    if (!v.is_string()) Fail("key '" + key + "': expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  std::vector<double> Numbers(const std::string& key) const {
    const json& v = Get(key);
    if (!v.is_array()) Fail("key '" + key + "': expected an array of numbers");
    std::vector<double> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(NumberOf(v[i], "key '" + key + "'[" + std::to_string(i) + "]"));
    return out;
  }

 private:
  double NumberOf(const json& v, const std::string& what) const {
    if (!v.is_number()) Fail(what + ": expected a number, got " + v.dump());
    return v.get<double>();
  }
  const json& object_;
  std::string where_;
};

// Compares with a relative tolerance; records the largest absolute difference.
inline bool Close(double ours, double recorded, double tol, double& max_diff) {
  const double d = std::abs(ours - recorded);
  if (std::isnan(d)) {
    max_diff = INFINITY;
    return std::isnan(ours) && std::isnan(recorded);
  }
  max_diff = std::max(max_diff, d);
  return d <= tol * std::max(1.0, std::abs(recorded));
}

// A golden file's top level: a non-empty JSON array of episode objects.
inline json ReadEpisodeArray(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": a directory; expected a golden JSON file (e.g. " + path +
                "/CartPole-v1.json)");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open file");
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& e) {  // syntax, and numbers out of a double's range
    throw Error(path + ": invalid JSON: " + e.what());
  }
  if (!root.is_array()) throw Error(path + ": expected a JSON array of episode objects");
  if (root.empty()) throw Error(path + ": the file holds no episodes");
  return root;
}

// Replays one episode with a Replayer(episode, tol, report) that has Run(mode) and Problem(what);
// an Error on the way is the report's first problem.
template <typename Replayer, typename Episode, typename Report, typename Mode>
Report RunReplay(const Episode& episode, Mode mode, double tol, int index) {
  Report report;
  report.episode = index;
  report.env_id = episode.env_id;
  report.reset_seed = episode.reset_seed;
  report.expected_length = static_cast<int>(episode.steps.size());
  Replayer replayer(episode, tol, report);
  try {
    replayer.Run(mode);
  } catch (const Error& e) {
    replayer.Problem(e.what());
    report.passed = false;
  }
  return report;
}

}  // namespace rlforge::io::internal
