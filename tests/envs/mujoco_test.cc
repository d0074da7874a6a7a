// MuJoCo environments: spaces, reset noise, every reward term recomputed from the simulator state,
// termination at the healthy-range edges, determinism, set_state replay, snapshots, rendering,
// bad input.
#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "rlforge/core/error.h"
#include "rlforge/env/registry.h"
#include "rlforge/envs/mujoco/mujoco_env.h"
#include "test_util.h"

namespace rlforge::envs::mujoco {
namespace {

using rlforge::testing::ErrorOf;

const std::vector<std::string> kIds = {"HalfCheetah-v4",
                                       "Hopper-v4",
                                       "Walker2d-v4",
                                       "Ant-v4",
                                       "Humanoid-v4",
                                       "HumanoidStandup-v4",
                                       "Swimmer-v4",
                                       "InvertedPendulum-v4",
                                       "InvertedDoublePendulum-v4",
                                       "Reacher-v4",
                                       "Pusher-v4"};

MujocoEnv& Sim(env::Env& e) { return dynamic_cast<MujocoEnv&>(*e.Unwrapped()); }

// Steps with random actions in [low, high] drawn from a fixed seed.
struct Driver {
  std::unique_ptr<env::Env> env;
  std::vector<float> obs, action;
  Rng rng{7};

  explicit Driver(const std::string& id, const env::Kwargs& kwargs = {})
      : env(env::Make(id, kwargs)),
        obs(env->observation_space().num_continuous()),
        action(env->action_space().num_continuous()) {}
  void Reset(uint64_t seed) { env->Reset(seed, obs.data()); }
  env::StepResult Step() {
    const Space& a = env->action_space();
    for (size_t i = 0; i < action.size(); ++i)
      action[i] = static_cast<float>(rng.Uniform(a.low()[i], a.high()[i]));
    return env->Step(Action{{}, action}, obs.data());
  }
  double Info(const char* key) const {
    const auto v = env->info().Get(key);
    EXPECT_TRUE(v.has_value()) << key;
    return v.value_or(NAN);
  }
  double ActionSquared() const {
    float s = 0;
    for (float a : action) s += a * a;
    return s;
  }
};

TEST(Mujoco, SpacesMatchGymnasiumV4) {
  // id -> observation size, action size, action bound (symmetric)
  const std::map<std::string, std::tuple<int, int, double>> expected = {
      {"HalfCheetah-v4", {17, 6, 1.0}},
      {"Hopper-v4", {11, 3, 1.0}},
      {"Walker2d-v4", {17, 6, 1.0}},
      {"Ant-v4", {27, 8, 1.0}},
      {"Humanoid-v4", {376, 17, 0.4}},
      {"HumanoidStandup-v4", {376, 17, 0.4}},
      {"Swimmer-v4", {8, 2, 1.0}},
      {"InvertedPendulum-v4", {4, 1, 3.0}},
      {"InvertedDoublePendulum-v4", {11, 1, 1.0}},
      {"Reacher-v4", {11, 2, 1.0}},
      {"Pusher-v4", {23, 7, 2.0}},
  };
  ASSERT_EQ(expected.size(), kIds.size());
  for (const auto& [id, want] : expected) {
    auto e = env::Make(id);
    const auto [obs, act, bound] = want;
    EXPECT_EQ(e->observation_space().shape(), std::vector<int64_t>{obs}) << id;
    EXPECT_EQ(e->action_space().shape(), std::vector<int64_t>{act}) << id;
    for (int i = 0; i < act; ++i) {
      EXPECT_FLOAT_EQ(e->action_space().low()[i], -bound) << id;
      EXPECT_FLOAT_EQ(e->action_space().high()[i], bound) << id;
    }
  }
  EXPECT_EQ(env::Lookup("Hopper-v4").spec.max_episode_steps, 1000);
  EXPECT_EQ(env::Lookup("Reacher-v4").spec.max_episode_steps, 50);
  EXPECT_EQ(env::Lookup("Pusher-v4").spec.max_episode_steps, 100);
  // positions kept in the observation
  const env::Kwargs keep{{"exclude_current_positions_from_observation", false}};
  EXPECT_EQ(env::Make("HalfCheetah-v4", keep)->observation_space().shape()[0], 18);
  EXPECT_EQ(env::Make("Hopper-v4", keep)->observation_space().shape()[0], 12);
  EXPECT_EQ(env::Make("Ant-v4", keep)->observation_space().shape()[0], 29);
  EXPECT_EQ(env::Make("Humanoid-v4", keep)->observation_space().shape()[0], 378);
  EXPECT_EQ(env::Make("Swimmer-v4", keep)->observation_space().shape()[0], 10);
  EXPECT_EQ(env::Make("Ant-v4", {{"use_contact_forces", true}})->observation_space().shape()[0],
            111);
}

// Reset noise: each qpos/qvel element's offset from the model's reference pose, over many seeds,
// has the distribution and scale Gymnasium draws.
TEST(Mujoco, ResetNoiseStatistics) {
  enum Kind { kUniform, kNormal };
  struct Noise {
    Kind qpos, qvel;
    double scale;
  };
  const std::map<std::string, Noise> noise = {
      {"HalfCheetah-v4", {kUniform, kNormal, 0.1}},
      {"Hopper-v4", {kUniform, kUniform, 5e-3}},
      {"Walker2d-v4", {kUniform, kUniform, 5e-3}},
      {"Ant-v4", {kUniform, kNormal, 0.1}},
      {"Humanoid-v4", {kUniform, kUniform, 1e-2}},
      {"HumanoidStandup-v4", {kUniform, kUniform, 1e-2}},
      {"Swimmer-v4", {kUniform, kUniform, 0.1}},
      {"InvertedPendulum-v4", {kUniform, kUniform, 0.01}},
      {"InvertedDoublePendulum-v4", {kUniform, kNormal, 0.1}},
  };
  constexpr int kResets = 400;
  for (const auto& [id, n] : noise) {
    Driver d(id);
    const mjModel& m = Sim(*d.env).model();
    std::vector<double> sum(m.nq + m.nv), sum_sq(m.nq + m.nv), max_abs(m.nq + m.nv);
    std::vector<bool> quaternion(m.nq);  // MuJoCo normalizes free-joint quaternions in place
    for (int j = 0; j < m.njnt; ++j) {
      if (m.jnt_type[j] == mjJNT_FREE)
        for (int i = 3; i < 7; ++i) quaternion[m.jnt_qposadr[j] + i] = true;
    }
    for (int s = 0; s < kResets; ++s) {
      d.Reset(s);
      const auto state = d.env->GetState();
      for (int i = 0; i < m.nq + m.nv; ++i) {
        const double offset = state[i] - (i < m.nq ? m.qpos0[i] : 0.0);
        sum[i] += offset;
        sum_sq[i] += offset * offset;
        max_abs[i] = std::max(max_abs[i], std::abs(offset));
      }
    }
    for (int i = 0; i < m.nq + m.nv; ++i) {
      if (i < m.nq && quaternion[i]) continue;
      const Kind kind = i < m.nq ? n.qpos : n.qvel;
      const double std_want = kind == kUniform ? n.scale / std::sqrt(3.0) : n.scale;
      const double mean = sum[i] / kResets, std = std::sqrt(sum_sq[i] / kResets - mean * mean);
      EXPECT_NEAR(std, std_want, 0.12 * std_want) << id << " element " << i;
      EXPECT_NEAR(mean, 0.0, 5 * std_want / std::sqrt(kResets)) << id << " element " << i;
      if (kind == kUniform) EXPECT_LE(max_abs[i], n.scale) << id << " element " << i;
      if (kind == kNormal) EXPECT_GT(max_abs[i], 2 * n.scale) << id << " element " << i;
    }
  }
}

TEST(Mujoco, ReacherAndPusherResetsPlaceTargetsAsGymnasium) {
  Driver reacher("Reacher-v4"), pusher("Pusher-v4");
  for (int s = 0; s < 200; ++s) {
    reacher.Reset(s);
    auto q = reacher.env->GetState();  // qpos: 2 arm joints, target x/y; then qvel
    EXPECT_LT(std::hypot(q[2], q[3]), 0.2);
    EXPECT_EQ(q[6], 0.0);
    EXPECT_EQ(q[7], 0.0);
    pusher.Reset(s);
    const auto p = pusher.env->GetState();
    const int nq = Sim(*pusher.env).model().nq;
    const double cx = p[nq - 4], cy = p[nq - 3];
    EXPECT_GE(cx, -0.3);
    EXPECT_LE(cx, 0.0);
    EXPECT_GE(cy, -0.2);
    EXPECT_LE(cy, 0.2);
    EXPECT_GT(std::hypot(cx, cy), 0.17);
    EXPECT_EQ(p[nq - 2], 0.0);
    EXPECT_EQ(p[nq - 1], 0.0);
  }
}

// x, y of the centre of mass, recomputed from the model's masses and the data's xipos.
std::array<double, 2> MassCenter(const mjModel& m, const mjData& d) {
  double mass = 0, x = 0, y = 0;
  for (int b = 0; b < m.nbody; ++b) {
    mass += m.body_mass[b];
    x += m.body_mass[b] * d.xipos[3 * b];
    y += m.body_mass[b] * d.xipos[3 * b + 1];
  }
  return {x / mass, y / mass};
}

std::array<double, 3> Xpos(const mjModel& m, const mjData& d, const char* body) {
  const int id = mj_name2id(&m, mjOBJ_BODY, body);
  return {d.xpos[3 * id], d.xpos[3 * id + 1], d.xpos[3 * id + 2]};
}

double Distance(std::array<double, 3> a, std::array<double, 3> b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                   (a[2] - b[2]) * (a[2] - b[2]));
}

// Each env's reward recomputed from the state before and after the step, with Gymnasium's
// formula and default weights, and its info keys checked. `check` gets the driver, the
// qpos before the step, and the step's result.
using RewardCheck = std::function<void(Driver&, const std::vector<double>& before,
                                       const env::StepResult& r, const mjData& pre)>;

void CheckRewards(const std::string& id, const RewardCheck& check, int steps = 60) {
  Driver d(id);
  d.Reset(3);
  MujocoEnv& sim = Sim(*d.env);
  mjData* pre = mj_makeData(&sim.model());
  for (int t = 0; t < steps; ++t) {
    const auto before = d.env->GetState();
    mj_copyData(pre, &sim.model(), &sim.data());
    const auto r = d.Step();
    check(d, before, r, *pre);
    if (r.terminated || r.truncated) d.Reset(100 + t);
  }
  mj_deleteData(pre);
}

TEST(Mujoco, HalfCheetahRewardTerms) {
  CheckRewards("HalfCheetah-v4", [](Driver& d, const auto& before, const auto& r, const auto&) {
    const double dt = 0.05;
    const double x_after = d.env->GetState()[0];
    const double run = (x_after - before[0]) / dt, ctrl = 0.1 * d.ActionSquared();
    EXPECT_NEAR(d.Info("reward_run"), run, 1e-12);
    EXPECT_NEAR(d.Info("reward_ctrl"), -ctrl, 1e-12);
    EXPECT_NEAR(d.Info("x_position"), x_after, 1e-12);
    EXPECT_NEAR(d.Info("x_velocity"), run, 1e-12);
    EXPECT_NEAR(r.reward, run - ctrl, 1e-9);
    EXPECT_FALSE(r.terminated);
  });
}

// Hopper and Walker2d: forward velocity + healthy reward - 1e-3 |a|^2; unhealthy terminates.
void CheckPlanarWalker(const std::string& id, double dt,
                       const std::function<bool(const std::vector<double>&)>& healthy) {
  int terminations = 0;
  CheckRewards(
      id,
      [&](Driver& d, const auto& before, const auto& r, const auto&) {
        const auto after = d.env->GetState();
        const double fwd = (after[0] - before[0]) / dt;
        const bool ok = healthy(after);
        EXPECT_EQ(r.terminated, !ok) << id;
        EXPECT_NEAR(r.reward, fwd + 1.0 - 1e-3 * d.ActionSquared(), 1e-9) << id;
        EXPECT_NEAR(d.Info("x_velocity"), fwd, 1e-12);
        terminations += r.terminated;
      },
      300);
  EXPECT_GT(terminations, 0) << id << ": random actions should make it fall";
}

TEST(Mujoco, HopperRewardAndHealth) {
  CheckPlanarWalker("Hopper-v4", 0.008, [](const std::vector<double>& s) {
    for (size_t i = 2; i < 12; ++i)  // [qpos, qvel][2:]; the state ends with ctrl
      if (!(std::abs(s[i]) < 100)) return false;
    return s[1] > 0.7 && s[2] > -0.2 && s[2] < 0.2;
  });
}

TEST(Mujoco, Walker2dRewardAndHealth) {
  CheckPlanarWalker("Walker2d-v4", 0.008, [](const std::vector<double>& s) {
    return s[1] > 0.8 && s[1] < 2.0 && s[2] > -1.0 && s[2] < 1.0;
  });
}

TEST(Mujoco, AntRewardTerms) {
  CheckRewards("Ant-v4", [](Driver& d, const auto&, const auto& r, const mjData& pre) {
    const mjModel& m = Sim(*d.env).model();
    const auto x0 = Xpos(m, pre, "torso"), x1 = Xpos(m, Sim(*d.env).data(), "torso");
    const double fwd = (x1[0] - x0[0]) / 0.05, ctrl = 0.5 * d.ActionSquared();
    const double z = d.env->GetState()[2];
    const bool healthy = z >= 0.2 && z <= 1.0;
    EXPECT_NEAR(d.Info("reward_forward"), fwd, 1e-12);
    EXPECT_NEAR(d.Info("reward_ctrl"), -ctrl, 1e-12);
    EXPECT_NEAR(d.Info("reward_survive"), 1.0, 0);
    EXPECT_NEAR(d.Info("y_velocity"), (x1[1] - x0[1]) / 0.05, 1e-12);
    EXPECT_NEAR(d.Info("distance_from_origin"), std::hypot(x1[0], x1[1]), 1e-12);
    EXPECT_NEAR(r.reward, fwd + 1.0 - ctrl, 1e-9);
    EXPECT_EQ(r.terminated, !healthy);
  });
}

TEST(Mujoco, AntContactCostWhenEnabled) {
  Driver d("Ant-v4", {{"use_contact_forces", true}});
  d.Reset(1);
  for (int t = 0; t < 30; ++t) {
    const auto r = d.Step();
    const mjData& data = Sim(*d.env).data();
    const mjModel& m = Sim(*d.env).model();
    double contact = 0;
    for (int i = 0; i < 6 * m.nbody; ++i) {
      const double f = std::clamp(data.cfrc_ext[i], -1.0, 1.0);
      contact += f * f;
      EXPECT_FLOAT_EQ(d.obs[27 + i], f);  // clipped contact forces follow qpos/qvel
    }
    contact *= 5e-4;
    EXPECT_NEAR(d.Info("reward_ctrl"), -contact, 1e-12);  // Ant-v4 reports the contact cost here
    EXPECT_NEAR(r.reward, d.Info("reward_forward") + 1.0 - 0.5 * d.ActionSquared() - contact, 1e-9);
  }
}

TEST(Mujoco, HumanoidRewardTerms) {
  CheckRewards("Humanoid-v4", [](Driver& d, const auto&, const auto& r, const mjData& pre) {
    const mjModel& m = Sim(*d.env).model();
    const mjData& post = Sim(*d.env).data();
    const auto c0 = MassCenter(m, pre), c1 = MassCenter(m, post);
    const double fwd = 1.25 * (c1[0] - c0[0]) / 0.015;
    double ctrl = 0;
    for (float a : d.action) ctrl += double{a} * a;
    ctrl *= 0.1;
    const double z = post.qpos[2];
    EXPECT_NEAR(d.Info("reward_linvel"), fwd, 1e-9);
    EXPECT_NEAR(d.Info("reward_quadctrl"), -ctrl, 1e-12);
    EXPECT_NEAR(r.reward, fwd + 5.0 - ctrl, 1e-9);
    EXPECT_EQ(r.terminated, !(z > 1.0 && z < 2.0));
    // observation layout: qpos[2:], qvel, cinert, cvel, qfrc_actuator, cfrc_ext
    EXPECT_FLOAT_EQ(d.obs[0], post.qpos[2]);
    EXPECT_FLOAT_EQ(d.obs[22], post.qvel[0]);
    EXPECT_FLOAT_EQ(d.obs[45 + 10], post.cinert[10]);
    EXPECT_FLOAT_EQ(d.obs[45 + 140 + 6], post.cvel[6]);
    EXPECT_FLOAT_EQ(d.obs[45 + 140 + 84 + 6], post.qfrc_actuator[6]);
    EXPECT_FLOAT_EQ(d.obs[45 + 140 + 84 + 23 + 7], post.cfrc_ext[7]);
  });
}

TEST(Mujoco, HumanoidStandupRewardTerms) {
  CheckRewards("HumanoidStandup-v4", [](Driver& d, const auto&, const auto& r, const mjData&) {
    const mjData& post = Sim(*d.env).data();
    const double up = post.qpos[2] / 0.003;
    double ctrl = 0, impact = 0;
    for (float a : d.action) ctrl += double{a} * a;
    for (int i = 0; i < 6 * Sim(*d.env).model().nbody; ++i)
      impact += post.cfrc_ext[i] * post.cfrc_ext[i];
    impact = std::min(0.5e-6 * impact, 10.0);
    EXPECT_NEAR(d.Info("reward_linup"), up, 1e-9);
    EXPECT_NEAR(r.reward, up - 0.1 * ctrl - impact + 1, 1e-9);
    EXPECT_FALSE(r.terminated);
  });
}

TEST(Mujoco, SwimmerRewardTerms) {
  CheckRewards("Swimmer-v4", [](Driver& d, const auto& before, const auto& r, const auto&) {
    const auto after = d.env->GetState();
    const double fwd = (after[0] - before[0]) / 0.04, ctrl = 1e-4 * d.ActionSquared();
    EXPECT_NEAR(d.Info("reward_fwd"), fwd, 1e-12);
    EXPECT_NEAR(d.Info("y_position"), after[1], 1e-12);
    EXPECT_NEAR(r.reward, fwd - ctrl, 1e-9);
  });
}

TEST(Mujoco, InvertedPendulumRewardAndTermination) {
  CheckRewards(
      "InvertedPendulum-v4",
      [](Driver& d, const auto&, const auto& r, const auto&) {
        EXPECT_EQ(r.reward, 1.0);
        EXPECT_EQ(r.terminated, std::abs(d.env->GetState()[1]) > 0.2);
      },
      200);
}

TEST(Mujoco, InvertedDoublePendulumRewardTerms) {
  CheckRewards("InvertedDoublePendulum-v4", [](Driver& d, const auto&, const auto& r, const auto&) {
    const mjData& post = Sim(*d.env).data();
    const double x = post.site_xpos[0], y = post.site_xpos[2];
    const double v1 = post.qvel[1], v2 = post.qvel[2];
    const double want = 10 - (0.01 * x * x + (y - 2) * (y - 2)) - (1e-3 * v1 * v1 + 5e-3 * v2 * v2);
    EXPECT_NEAR(r.reward, want, 1e-9);
    EXPECT_EQ(r.terminated, y <= 1);
    EXPECT_FLOAT_EQ(d.obs[1], std::sin(post.qpos[1]));
    EXPECT_FLOAT_EQ(d.obs[3], std::cos(post.qpos[1]));
  });
}

TEST(Mujoco, ReacherRewardIsTakenBeforeTheStep) {
  CheckRewards("Reacher-v4", [](Driver& d, const auto&, const auto& r, const mjData& pre) {
    const mjModel& m = Sim(*d.env).model();
    const double dist = -Distance(Xpos(m, pre, "fingertip"), Xpos(m, pre, "target"));
    EXPECT_NEAR(d.Info("reward_dist"), dist, 1e-12);
    EXPECT_NEAR(d.Info("reward_ctrl"), -d.ActionSquared(), 1e-12);
    EXPECT_NEAR(r.reward, dist - d.ActionSquared(), 1e-9);
    const mjData& post = Sim(*d.env).data();
    const auto tip = Xpos(m, post, "fingertip"), target = Xpos(m, post, "target");
    EXPECT_FLOAT_EQ(d.obs[8], tip[0] - target[0]);
  });
}

TEST(Mujoco, PusherRewardTerms) {
  CheckRewards("Pusher-v4", [](Driver& d, const auto&, const auto& r, const mjData& pre) {
    const mjModel& m = Sim(*d.env).model();
    const double near = -Distance(Xpos(m, pre, "object"), Xpos(m, pre, "tips_arm"));
    const double dist = -Distance(Xpos(m, pre, "object"), Xpos(m, pre, "goal"));
    EXPECT_NEAR(d.Info("reward_dist"), dist, 1e-12);
    EXPECT_NEAR(r.reward, dist - 0.1 * d.ActionSquared() + 0.5 * near, 1e-9);
  });
}

// SetState puts the env at the given qpos/qvel; one step later the termination rule applies.
env::StepResult StepFrom(const std::string& id,
                         const std::function<void(std::vector<double>&)>& edit,
                         const env::Kwargs& kwargs = {}) {
  Driver d(id, kwargs);
  d.Reset(0);
  auto state = d.env->GetState();
  edit(state);
  d.env->SetState(state);
  std::fill(d.action.begin(), d.action.end(), 0.0f);
  return d.env->Step(Action{{}, d.action}, d.obs.data());
}

TEST(Mujoco, TerminationAtHealthyRangeEdges) {
  const auto at = [](int i, double v) { return [=](std::vector<double>& s) { s[i] = v; }; };
  // Hopper: z > 0.7, |angle| < 0.2, |state[2:]| < 100
  EXPECT_FALSE(StepFrom("Hopper-v4", at(1, 1.25)).terminated);
  // lower z edges: the body starts at rest at its reference height, the range moves around it
  const auto z_range = [](double low, double high) {
    return env::Kwargs{{"healthy_z_range", std::vector<double>{low, high}}};
  };
  const auto same = [](std::vector<double>&) {};
  EXPECT_TRUE(StepFrom("Hopper-v4", same, z_range(1.27, INFINITY)).terminated);  // z0 = 1.25
  EXPECT_FALSE(StepFrom("Hopper-v4", same, z_range(1.23, INFINITY)).terminated);
  EXPECT_TRUE(StepFrom("Hopper-v4", at(2, 0.21)).terminated);
  EXPECT_TRUE(StepFrom("Hopper-v4", at(2, -0.21)).terminated);
  EXPECT_TRUE(StepFrom("Hopper-v4", at(8, 150.0)).terminated);  // a joint velocity
  EXPECT_FALSE(StepFrom("Hopper-v4", at(2, 0.19)).terminated);
  // not terminated when asked not to, and then the healthy reward is withheld
  const env::Kwargs keep_going{{"terminate_when_unhealthy", false}};
  const auto r = StepFrom("Hopper-v4", at(1, 0.5), keep_going);
  EXPECT_FALSE(r.terminated);
  const auto healthy = StepFrom("Hopper-v4", at(1, 1.25), keep_going);
  EXPECT_NEAR(healthy.reward - r.reward, 1.0, 0.2);  // the forward terms are near 0 for both
  // Walker2d: 0.8 < z < 2, |angle| < 1
  EXPECT_TRUE(StepFrom("Walker2d-v4", same, z_range(1.27, 2.0)).terminated);  // z0 = 1.25
  EXPECT_FALSE(StepFrom("Walker2d-v4", same, z_range(1.23, 2.0)).terminated);
  EXPECT_TRUE(StepFrom("Walker2d-v4", at(1, 2.05)).terminated);
  EXPECT_TRUE(StepFrom("Walker2d-v4", at(2, 1.01)).terminated);
  EXPECT_FALSE(StepFrom("Walker2d-v4", at(2, 0.99)).terminated);
  // Ant: 0.2 <= z <= 1
  EXPECT_TRUE(StepFrom("Ant-v4", at(2, 1.05)).terminated);
  EXPECT_FALSE(StepFrom("Ant-v4", at(2, 0.95)).terminated);
  EXPECT_TRUE(StepFrom("Ant-v4", same, z_range(0.8, 1.0)).terminated);  // z0 = 0.75
  // Humanoid: 1 < z < 2
  EXPECT_TRUE(StepFrom("Humanoid-v4", same, z_range(1.45, 2.0)).terminated);  // z0 = 1.4
  EXPECT_FALSE(StepFrom("Humanoid-v4", at(2, 1.4)).terminated);
  EXPECT_TRUE(StepFrom("Humanoid-v4", at(2, 2.01)).terminated);
  // InvertedPendulum: |pole| <= 0.2; InvertedDoublePendulum: tip above y = 1
  EXPECT_TRUE(StepFrom("InvertedPendulum-v4", at(1, 0.21)).terminated);
  EXPECT_FALSE(StepFrom("InvertedPendulum-v4", at(1, 0.1)).terminated);
  EXPECT_TRUE(StepFrom("InvertedDoublePendulum-v4", at(1, 1.2)).terminated);
  EXPECT_FALSE(StepFrom("InvertedDoublePendulum-v4", at(1, 0.0)).terminated);
}

TEST(Mujoco, SameSeedSameTrajectory) {
  for (const auto& id : kIds) {
    Driver a(id), b(id);
    a.Reset(42);
    b.Reset(42);
    for (int t = 0; t < 40; ++t) {
      const auto ra = a.Step(), rb = b.Step();
      ASSERT_EQ(a.obs, b.obs) << id << " step " << t;
      ASSERT_EQ(ra.reward, rb.reward) << id;
      if (ra.terminated) break;
    }
    Driver c(id);
    c.Reset(43);
    a.Reset(42);
    EXPECT_NE(a.obs, c.obs) << id;
  }
}

// A stored trajectory (states and actions) is replayed by SetState + Step: the next observation
// matches the recorded one (up to the solver's warm start, which Gymnasium's set_state does not
// restore either).
TEST(Mujoco, SetStateThenStepReplaysTheTrajectory) {
  for (const auto& id : kIds) {
    Driver live(id), replay(id);
    live.Reset(5);
    replay.Reset(99);
    for (int t = 0; t < 30; ++t) {
      const auto state = live.env->GetState();
      const auto r = live.Step();
      replay.env->SetState(state);
      const auto rr = replay.env->Step(Action{{}, live.action}, replay.obs.data());
      for (size_t i = 0; i < live.obs.size(); ++i) {
        ASSERT_NEAR(replay.obs[i], live.obs[i], 1e-4 * (1 + std::abs(live.obs[i])))
            << id << " step " << t << " element " << i;
      }
      // Ant, Humanoid, Reacher and Pusher read body positions before stepping; live, those are
      // what the last RK4 stage left (as in Gymnasium), after SetState they are exact
      const bool reads_bodies =
          id == "Ant-v4" || id == "Humanoid-v4" || id == "Reacher-v4" || id == "Pusher-v4";
      // exact: about 1 mm of body displacement over dt = 0.02-0.05 s
      ASSERT_NEAR(rr.reward, r.reward, reads_bodies ? 0.05 : 1e-4 * (1 + std::abs(r.reward))) << id;
      if (r.terminated) break;
    }
  }
}

TEST(Mujoco, SnapshotContinuesBitForBit) {
  for (const auto& id : {"Hopper-v4", "Humanoid-v4", "Pusher-v4"}) {
    Driver a(id);
    a.Reset(8);
    for (int t = 0; t < 10; ++t) a.Step();
    ByteWriter out;
    a.env->SaveSnapshot(out);
    Driver b(id);
    b.Reset(1234);
    ByteReader in(out.bytes());
    b.env->LoadSnapshot(in);
    b.rng = a.rng;
    for (int t = 0; t < 20; ++t) {
      const auto ra = a.Step(), rb = b.Step();
      ASSERT_EQ(a.obs, b.obs) << id << " step " << t;
      ASSERT_EQ(ra.reward, rb.reward);
      if (ra.terminated) break;
    }
  }
}

bool Differs(const env::Image& a, const env::Image& b) {
  size_t changed = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) changed += a.rgb[i] != b.rgb[i];
  return changed > a.rgb.size() / 200;
}

TEST(Mujoco, RenderedFramesShowTheStateAndFollowIt) {
  for (const auto& id : kIds) {
    Driver d(id, {{"width", int64_t{96}}, {"height", int64_t{80}}});
    d.Reset(0);
    const env::Image first = d.env->Render();
    ASSERT_EQ(first.width, 96);
    ASSERT_EQ(first.height, 80);
    ASSERT_EQ(first.rgb.size(), 96u * 80 * 3);
    // not blank: many distinct colours
    std::set<uint32_t> colours;
    for (size_t i = 0; i < first.rgb.size(); i += 3)
      colours.insert(first.rgb[i] << 16 | first.rgb[i + 1] << 8 | first.rgb[i + 2]);
    EXPECT_GT(colours.size(), 20u) << id;
    // moving the first joints changes the picture
    auto state = d.env->GetState();
    const int nq = Sim(*d.env).model().nq;
    for (int i = 0; i < nq; ++i) state[i] += 0.6;
    d.env->SetState(state);
    EXPECT_TRUE(Differs(first, d.env->Render())) << id;
    // and the same state renders the same picture
    d.Reset(0);
    const env::Image again = d.env->Render();
    EXPECT_FALSE(Differs(first, again)) << id;
  }
  EXPECT_EQ(env::Make("HalfCheetah-v4")->Render().width, 480);  // Gymnasium's default size
}

TEST(Mujoco, BadInputIsAClearError) {
  Driver d("Hopper-v4");
  d.Reset(0);
  std::vector<float> two(2, 0.f), three(3, 0.f);
  EXPECT_NE(ErrorOf([&] {
              d.env->Step(Action{{}, two}, d.obs.data());
            }).find("shape (3,)"),
            std::string::npos);
  three[1] = NAN;
  EXPECT_NE(ErrorOf([&] {
              d.env->Step(Action{{}, three}, d.obs.data());
            }).find("action[1] is NaN"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              d.env->SetState(std::vector<double>(3));
            }).find("nq + nv = 12 values (qpos, qvel) or nq + nv + nu = 15"),
            std::string::npos);
  std::vector<double> state = d.env->GetState();
  state[0] = INFINITY;
  EXPECT_NE(ErrorOf([&] { d.env->SetState(state); }).find("finite"), std::string::npos);
  EXPECT_NE(ErrorOf([] {
              env::Make("Hopper-v4", env::ParseKwargs({"healthy_z_range=[1]"}));
            }).find("expected 2 numbers"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              env::Make("Hopper-v4", env::ParseKwargs({"healthy_z_range=[2, 1]"}));
            }).find("low <= high"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              env::ParseKwargs({"healthy_z_range=[0.7, x]"});
            }).find("expected a list of numbers"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              env::Make("Ant-v4", {{"width", int64_t{0}}});
            }).find("width and height"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { env::Make("Hopper-v5"); }).find("Hopper-v4"), std::string::npos);
  // tuple kwargs parse, inf included
  const auto k = env::ParseKwargs({"healthy_z_range=(0.5, inf)"});
  EXPECT_EQ(std::get<std::vector<double>>(k.at("healthy_z_range")),
            (std::vector<double>{0.5, INFINITY}));
}

}  // namespace
}  // namespace rlforge::envs::mujoco
