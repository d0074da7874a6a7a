#include "rlforge/algos/pebble/teacher.h"

#include <cmath>
#include <set>
#include <sstream>

#include "rlforge/core/error.h"

namespace rlforge::algos::pebble {

TeacherConfig TeacherConfig::Resolved() const {
  if (preset == "custom" || preset == "human") return *this;
  const std::set<std::string> presets = {"oracle", "noisy", "mistake", "skip", "equal", "myopic"};
  if (!presets.count(preset)) {
    throw Error("teacher.preset: expected oracle|noisy|mistake|skip|equal|myopic|custom, got \"" +
                preset + "\"");
  }
  TeacherConfig c;  // the oracle: deterministic, no noise
  c.preset = preset;
  if (preset == "noisy") c.beta = 1.0;
  if (preset == "mistake") c.eps_mistake = 0.1;
  if (preset == "skip") c.eps_skip = 0.1;
  if (preset == "equal") c.eps_equal = 0.1;
  if (preset == "myopic") c.gamma = 0.9;
  return c;
}

ScriptedTeacher::ScriptedTeacher(const TeacherConfig& config, uint64_t seed)
    : config_(config.Resolved()), rng_(seed) {}

std::vector<float> ScriptedTeacher::Label(const QueryRewards& q) {
  const int64_t H = q.length;
  // segment returns, myopic: step t weighs gamma^(H - 1 - t), so the last steps count most
  const auto segment_return = [&](const std::vector<float>& r, int64_t pair) {
    double sum = 0.0;
    for (int64_t t = 0; t < H; ++t)
      sum += std::pow(config_.gamma, static_cast<double>(H - 1 - t)) * r[pair * H + t];
    return sum;
  };
  const double skip_threshold = config_.eps_skip * margin_;
  const double equal_threshold = config_.eps_equal * margin_;
  std::vector<float> labels(static_cast<size_t>(q.pairs));
  for (int64_t i = 0; i < q.pairs; ++i) {
    const double r0 = segment_return(q.reward0, i), r1 = segment_return(q.reward1, i);
    if (config_.eps_skip > 0 && std::max(r0, r1) < skip_threshold) {
      labels[i] = kSkip;
      continue;
    }
    float label;
    if (config_.beta > 0) {  // Boltzmann-rational: P[1] = sigmoid(beta (R1 - R0))
      const double p1 = 1.0 / (1.0 + std::exp(-config_.beta * (r1 - r0)));
      label = rng_.Random() < p1 ? 1.0f : 0.0f;
    } else {
      label = r0 < r1 ? 1.0f : 0.0f;
    }
    if (rng_.Random() <= config_.eps_mistake && config_.eps_mistake > 0) label = 1.0f - label;
    if (config_.eps_equal > 0 && std::abs(r0 - r1) < equal_threshold) label = 0.5f;
    labels[i] = label;
  }
  return labels;
}

std::string ScriptedTeacher::SaveState() const {
  std::ostringstream out;
  out.precision(17);
  out << margin_ << "\n" << rng_.Serialize();
  return out.str();
}

void ScriptedTeacher::LoadState(const std::string& state) {
  std::istringstream in(state);
  std::string rng;
  if (!(in >> margin_) || !std::getline(in >> std::ws, rng))
    throw Error("pebble checkpoint: bad teacher state");
  rng_.Deserialize(rng);
}

}  // namespace rlforge::algos::pebble
