// Teachers answer preference queries over segment pairs. The scripted one is B-Pref's simulated
// teacher (Lee et al. 2021, "B-Pref"; BPref reward_model.py get_label), which prefers the segment
// with the larger (optionally myopic) true return:
//   skip     when both returns are below eps_skip x margin         (label kSkip)
//   equal    when the returns differ by less than eps_equal x margin (label 0.5)
//   rational P[1] = softmax(beta R0, beta R1)[1] when beta > 0, else a hard comparison
//   mistake  flips the label with probability eps_mistake
// margin = mean true return of a segment under the current policy (episode return x H / T).
// BPref's PEBBLE script squares eps after the first session; here the threshold is eps x margin.
#pragma once

#include <string>
#include <vector>

#include "rlforge/core/config.h"
#include "rlforge/core/error.h"
#include "rlforge/core/rng.h"

namespace rlforge::algos::pebble {

inline constexpr float kSkip = -1.0f;  // the teacher gave no label

// A teacher that waits for a person, stopped (SIGINT/SIGTERM) before every answer came.
class TeacherInterrupted : public Error {
 public:
  using Error::Error;
};

struct TeacherConfig {
  std::string preset = "oracle";  // oracle|noisy|mistake|skip|equal|myopic|custom|human
  double beta = -1.0;             // rationality; <= 0: deterministic      (custom only)
  double gamma = 1.0;             // myopic discount of earlier steps      (custom only)
  double eps_mistake = 0.0;       // probability of a flipped label       (custom only)
  double eps_skip = 0.0;          // skip threshold, x margin             (custom only)
  double eps_equal = 0.0;         // "equal" threshold, x margin          (custom only)

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("preset", preset,
      "B-Pref teacher: oracle|noisy|mistake|skip|equal|myopic, custom, or human (the labeling app)",
      config::Choices{
          {"oracle", "noisy", "mistake", "skip", "equal", "myopic", "custom", "human"}});
    v("beta", beta, "custom: rationality, <= 0 = deterministic (B-Pref noisy: 1)", Range::Any());
    v("gamma", gamma, "custom: myopic discount (B-Pref myopic: 0.9)", Range::Closed(0, 1));
    v("eps_mistake", eps_mistake, "custom: label flip probability (B-Pref mistake: 0.1)",
      Range::Closed(0, 1));
    v("eps_skip", eps_skip, "custom: skip threshold x margin (B-Pref skip: 0.1)",
      Range::NonNegative());
    v("eps_equal", eps_equal, "custom: equal threshold x margin (B-Pref equal: 0.1)",
      Range::NonNegative());
  }
  // The preset's parameters (custom: the fields as given).
  TeacherConfig Resolved() const;
};

// True per-step rewards of the two segments of each query: (P x H) each, row-major; and the
// simulator states the segments were in, for teachers that look at them: (P x H x state_dim).
struct QueryRewards {
  int64_t pairs = 0, length = 0;
  std::vector<float> reward0, reward1;
  int64_t state_dim = 0;
  std::vector<double> states0, states1;
};

class Teacher {
 public:
  virtual ~Teacher() = default;
  // Labels per pair: 0 (segment 0 preferred), 1, 0.5 (equal) or kSkip. May block until a person
  // answers; an implementation that can be restarted keeps its pending queries in its state.
  virtual std::vector<float> Label(const QueryRewards& queries) = 0;
  // The mean true return of a segment under the current policy, for the thresholds.
  virtual void SetMargin(double margin) {}
  virtual std::string SaveState() const { return ""; }
  virtual void LoadState(const std::string&) {}
};

class ScriptedTeacher final : public Teacher {
 public:
  ScriptedTeacher(const TeacherConfig& config, uint64_t seed);
  std::vector<float> Label(const QueryRewards& queries) override;
  void SetMargin(double margin) override { margin_ = margin; }
  std::string SaveState() const override;
  void LoadState(const std::string& state) override;
  const TeacherConfig& config() const { return config_; }

 private:
  TeacherConfig config_;  // resolved
  double margin_ = 0.0;
  Rng rng_;
};

}  // namespace rlforge::algos::pebble
