#include "rlforge/env/checker.h"

#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::env {
namespace {

// Observation bytes as float64 values, whatever the dtype.
std::vector<double> AsDoubles(const Space& space, const std::vector<uint8_t>& bytes) {
  std::vector<double> out(static_cast<size_t>(space.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (space.dtype()) {
      case DType::kFloat32:
        out[i] = reinterpret_cast<const float*>(bytes.data())[i];
        break;
      case DType::kFloat64:
        out[i] = reinterpret_cast<const double*>(bytes.data())[i];
        break;
      case DType::kUInt8:
      case DType::kBool:
        out[i] = bytes[i];
        break;
      case DType::kInt32:
        out[i] = reinterpret_cast<const int32_t*>(bytes.data())[i];
        break;
      case DType::kInt64:
        out[i] = static_cast<double>(reinterpret_cast<const int64_t*>(bytes.data())[i]);
        break;
    }
  }
  return out;
}

// A seeded random action, owning its storage.
struct OwnedAction {
  std::vector<int64_t> discrete;
  std::vector<float> continuous;
  Action view() const { return {discrete, continuous}; }
};

OwnedAction SampleAction(const Space& space, Rng& rng) {
  OwnedAction a{std::vector<int64_t>(static_cast<size_t>(space.num_discrete())),
                std::vector<float>(static_cast<size_t>(space.num_continuous()))};
  space.Sample(rng, a.discrete, a.continuous);
  return a;
}

struct Trajectory {
  std::vector<std::vector<uint8_t>> obs;
  std::vector<StepResult> results;
};

Trajectory Roll(Env& env, uint64_t seed, int steps) {
  Trajectory t;
  std::vector<uint8_t> obs(env.observation_space().nbytes());
  env.Reset(seed, obs.data());
  t.obs.push_back(obs);
  Rng rng(seed + 1000);
  for (int i = 0; i < steps; ++i) {
    const OwnedAction a = SampleAction(env.action_space(), rng);
    const StepResult r = env.Step(a.view(), obs.data());
    t.obs.push_back(obs);
    t.results.push_back(r);
    if (r.terminated || r.truncated) env.Reset(std::nullopt, obs.data());
  }
  return t;
}

bool Rejects(Env& env, const Action& action) {
  std::vector<uint8_t> obs(env.observation_space().nbytes());
  try {
    env.Step(action, obs.data());
  } catch (const Error&) {
    return true;
  }
  return false;
}

}  // namespace

CheckReport CheckEnv(const std::function<std::unique_ptr<Env>()>& make, int steps) {
  CheckReport report;
  auto check = [&](bool ok, const std::string& what, bool warn_only = false) {
    if (ok) {
      report.passed.push_back(what);
    } else {
      (warn_only ? report.warnings : report.failures).push_back(what);
    }
    return ok;
  };

  auto env = make();
  const Space& obs_space = env->observation_space();
  const Space& act_space = env->action_space();
  check(obs_space.kind() == Space::Kind::kBox && obs_space.size() > 0,
        "observation space is a non-empty Box: " + obs_space.ToString());
  check(act_space.num_discrete() + act_space.num_continuous() > 0,
        "action space is non-empty: " + act_space.ToString());

  // reset: observation inside the space, deterministic for a seed
  std::vector<uint8_t> obs_a(obs_space.nbytes()), obs_b(obs_space.nbytes());
  env->Reset(42, obs_a.data());
  check(obs_space.Contains(AsDoubles(obs_space, obs_a)),
        "reset(seed=42) observation is inside the observation space");
  auto env2 = make();
  env2->Reset(42, obs_b.data());
  check(obs_a == obs_b, "reset(seed=42) gives the same observation in two env instances");
  env->Reset(42, obs_b.data());
  check(obs_a == obs_b, "reset(seed=42) twice on one env gives the same observation");
  env->Reset(43, obs_b.data());
  check(obs_a != obs_b, "reset(seed=43) differs from reset(seed=42)", /*warn_only=*/true);

  // step: observations inside the space, finite rewards, deterministic
  const Trajectory t1 = Roll(*env, 7, steps);
  const Trajectory t2 = Roll(*env2, 7, steps);
  bool inside = true, finite = true;
  for (const auto& o : t1.obs) inside = inside && obs_space.Contains(AsDoubles(obs_space, o));
  for (const auto& r : t1.results) finite = finite && std::isfinite(r.reward);
  check(inside, "every observation over " + std::to_string(steps) +
                    " random steps is inside the observation space");
  check(finite, "every reward is finite");
  bool same = t1.obs == t2.obs;
  for (size_t i = 0; same && i < t1.results.size(); ++i) {
    same = t1.results[i].reward == t2.results[i].reward &&
           t1.results[i].terminated == t2.results[i].terminated &&
           t1.results[i].truncated == t2.results[i].truncated;
  }
  check(same, "same seed and actions give the same trajectory");

  // state: set_state on a second env reproduces the first env's next step
  {
    env->Reset(11, obs_a.data());
    Rng rng(5);
    for (int i = 0; i < 5; ++i) {
      const StepResult r = env->Step(SampleAction(act_space, rng).view(), obs_a.data());
      if (r.terminated || r.truncated) env->Reset(std::nullopt, obs_a.data());
    }
    const std::vector<double> state = env->GetState();
    env2->Reset(99, obs_b.data());
    env2->SetState(state);
    check(env2->GetState() == state, "get_state/set_state round-trips");
    env2->Observe(obs_b.data());
    env->Observe(obs_a.data());
    const double tol = env->Unwrapped()->replay_tolerance();
    const double obs_tol = std::isinf(tol) ? 0.0 : tol;
    const auto close = [obs_tol](double x, double y) {
      return std::abs(x - y) <= obs_tol * (1 + std::abs(x));
    };
    const auto same_obs = [&] {
      const auto xa = AsDoubles(obs_space, obs_a), xb = AsDoubles(obs_space, obs_b);
      return std::equal(xa.begin(), xa.end(), xb.begin(), close);
    };
    const std::string how =
        obs_tol > 0 ? " (within " + FormatNumber(obs_tol, DType::kFloat64) + ")" : "";
    check(same_obs(), "observe() after set_state matches the original env" + how);
    const OwnedAction a = SampleAction(act_space, rng);
    const StepResult ra = env->Step(a.view(), obs_a.data());
    const StepResult rb = env2->Step(a.view(), obs_b.data());
    if (std::isinf(tol)) {  // random dynamics: only the state itself must carry over
      check(true, "step after set_state: not compared, the env's steps draw from its RNG");
    } else {
      check(same_obs() && close(ra.reward, rb.reward) && ra.terminated == rb.terminated,
            "step after set_state matches the original env" + how);
    }
  }

  // render: a non-empty, non-uniform RGB frame that follows the state
  {
    env->Reset(3, obs_a.data());
    const Image first = env->Render();
    const bool sized = first.width > 0 && first.height > 0 &&
                       first.rgb.size() == static_cast<size_t>(first.width) * first.height * 3;
    if (check(sized, "render() returns an RGB frame (" + std::to_string(first.height) + "x" +
                         std::to_string(first.width) + "x3)")) {
      const bool varied = std::any_of(first.rgb.begin(), first.rgb.end(),
                                      [&](uint8_t v) { return v != first.rgb[0]; });
      check(varied, "rendered frame is not blank");
      Rng rng(9);
      for (int i = 0; i < 10; ++i) {
        const StepResult r = env->Step(SampleAction(act_space, rng).view(), obs_a.data());
        if (r.terminated || r.truncated) break;
      }
      check(env->Render().rgb != first.rgb, "rendered frame changes as the env steps",
            /*warn_only=*/true);
    }
  }

  // bad actions are rejected with an error
  {
    env->Reset(1, obs_a.data());
    std::vector<int64_t> disc(static_cast<size_t>(act_space.num_discrete()), 0);
    std::vector<float> cont(static_cast<size_t>(act_space.num_continuous()), 0.0f);
    std::vector<float> too_long(cont.size() + 1, 0.0f);
    std::vector<int64_t> disc_long(disc.size() + 1, 0);
    check(Rejects(*env, {disc_long, too_long}), "an action of the wrong shape is rejected");
    if (!cont.empty()) {
      cont[0] = NAN;
      check(Rejects(*env, {disc, cont}), "a NaN action is rejected");
    }
    if (!disc.empty()) {
      disc[0] = act_space.start() + act_space.nvec()[0];
      check(Rejects(*env, {disc, cont}), "an out-of-range discrete action is rejected");
    }
  }
  return report;
}

}  // namespace rlforge::env
