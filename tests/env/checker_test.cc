#include "rlforge/env/checker.h"

#include <gtest/gtest.h>

#include "rlforge/env/registry.h"

namespace rlforge::env {
namespace {

TEST(Checker, EveryRegisteredEnvPasses) {
  for (const auto& id : RegisteredIds()) {
    const CheckReport report = CheckEnv([&] { return Make(id); });
    EXPECT_TRUE(report.ok()) << id << ": " << (report.failures.empty() ? "" : report.failures[0]);
    EXPECT_GE(report.passed.size(), 10u) << id;
  }
}

// An env that breaks the contract: unseeded reset, observations outside its space, accepts NaN.
class BrokenEnv final : public Env {
 public:
  BrokenEnv() : obs_(Space::Box(-1.0, 1.0, {1})), act_(Space::Box(-1.0, 1.0, {1})) {}
  const Space& observation_space() const override { return obs_; }
  const Space& action_space() const override { return act_; }
  void Reset(std::optional<uint64_t>, void* obs) override {
    x_ = static_cast<double>(++resets_);
    Observe(obs);
  }
  StepResult Step(const Action&, void* obs) override {
    Observe(obs);
    return {0.0, false, false};
  }
  void Observe(void* obs) const override { *static_cast<float*>(obs) = static_cast<float>(x_); }
  Image Render() const override { return {2, 2, std::vector<uint8_t>(12, 7)}; }
  std::vector<double> GetState() const override { return {x_}; }
  void SetState(std::span<const double> s) override { x_ = s[0]; }

 private:
  Space obs_, act_;
  double x_ = 0.0;
  int resets_ = 0;
};

TEST(Checker, CatchesContractViolations) {
  const CheckReport report = CheckEnv([] { return std::make_unique<BrokenEnv>(); });
  EXPECT_FALSE(report.ok());
  auto failed = [&](const std::string& what) {
    return std::any_of(report.failures.begin(), report.failures.end(),
                       [&](const std::string& f) { return f.find(what) != std::string::npos; });
  };
  EXPECT_TRUE(failed("twice on one env gives the same observation"));
  EXPECT_TRUE(failed("inside the observation space"));
  EXPECT_TRUE(failed("a NaN action is rejected"));
  EXPECT_TRUE(failed("rendered frame is not blank"));
}

}  // namespace
}  // namespace rlforge::env
