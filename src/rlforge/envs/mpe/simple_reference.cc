// simple_reference_v3 (mpe2/simple_reference/simple_reference.py): two agents, three coloured
// landmarks. Each agent sees the colour of the landmark the *other* agent must reach and tells
// it through a 10-word channel. r_i = 0.5 * mean_j(-|p_other(j) - goal_j|) + 0.5 * (-|p_other(i)
// - goal_i|). Discrete actions are two heads [move (5), say (10)], i.e. MPE's Discrete(50) as
// move + 5 * say; continuous actions are Box(0, 1, (15,)): 5 move values, then 10 words.
#include "rlforge/core/error.h"
#include "rlforge/envs/mpe/mpe.h"

namespace rlforge::envs::mpe {
namespace {

constexpr int kLandmarks = 3;
const Color kLandmarkColors[kLandmarks] = {{191, 64, 64}, {64, 191, 64}, {64, 64, 191}};
const double kLandmarkRgb[kLandmarks][3] = {
    {0.75, 0.25, 0.25}, {0.25, 0.75, 0.25}, {0.25, 0.25, 0.75}};

class SimpleReference final : public MpeEnv {
 public:
  SimpleReference(double local_ratio, int max_cycles, bool continuous) : local_ratio_(local_ratio) {
    spec_ = {"simple_reference_v3", max_cycles};
    world_.dim_c = 10;
    world_.num_agents = 2;
    for (int i = 0; i < 2; ++i) {
      Entity e;
      e.name = "agent_" + std::to_string(i);
      e.movable = true;
      e.collide = false;
      world_.entities.push_back(e);
    }
    for (int l = 0; l < kLandmarks; ++l) {
      Entity e;
      e.name = "landmark " + std::to_string(l);
      e.collide = false;
      e.color = kLandmarkColors[l];
      world_.entities.push_back(e);
    }
    world_.Allocate();
    world_.silent = {0, 0};
    DeclareMpeAgents(continuous, true, {21, 21});
  }

 protected:
  void ResetWorld() override {
    // goal landmarks first (np_random.choice draws integers(3)), then agents, then landmarks
    goal_[0] = static_cast<int>(np_random_.Integers(kLandmarks));
    goal_[1] = static_cast<int>(np_random_.Integers(kLandmarks));
    Recolor();
    for (Entity& e : world_.entities) {
      e.pos[0] = np_random_.Uniform(-1.0, 1.0);
      e.pos[1] = np_random_.Uniform(-1.0, 1.0);
      e.vel[0] = e.vel[1] = 0.0;
    }
    std::fill(world_.comm.begin(), world_.comm.end(), 0.0);
  }

  // -|p_other(i) - goal_i|: agent i wants the other agent at its goal landmark
  double AgentReward(int i) const {
    return -Distance(world_.agent(1 - i), world_.entities[static_cast<size_t>(2 + goal_[i])]);
  }

  void Reward(double* rewards) override {
    const double global = (0 + AgentReward(0) + AgentReward(1)) / 2;
    for (int i = 0; i < 2; ++i)
      rewards[i] = global * (1 - local_ratio_) + AgentReward(i) * local_ratio_;
  }

  // [v_i, landmarks - p_i, colour of goal_i, the other agent's comm]
  void ObserveAgent(int i, float* obs) const override {
    const Entity& me = world_.agent(i);
    *obs++ = static_cast<float>(me.vel[0]), *obs++ = static_cast<float>(me.vel[1]);
    for (int l = 0; l < kLandmarks; ++l) {
      const Entity& landmark = world_.entities[static_cast<size_t>(2 + l)];
      *obs++ = static_cast<float>(landmark.pos[0] - me.pos[0]);
      *obs++ = static_cast<float>(landmark.pos[1] - me.pos[1]);
    }
    for (double c : kLandmarkRgb[goal_[i]]) *obs++ = static_cast<float>(c);
    for (int k = 0; k < world_.dim_c; ++k)
      *obs++ = static_cast<float>(world_.comm[static_cast<size_t>((1 - i) * world_.dim_c + k)]);
  }

  std::vector<double> Extra() const override { return {double(goal_[0]), double(goal_[1])}; }
  size_t ExtraSize() const override { return 2; }
  void SetExtra(std::span<const double> extra) override {
    for (int i = 0; i < 2; ++i) {
      if (extra[i] != 0 && extra[i] != 1 && extra[i] != 2)
        throw Error(spec_.id + ": state's goal landmark of agent_" + std::to_string(i) +
                    " must be 0, 1 or 2");
      goal_[i] = static_cast<int>(extra[i]);
    }
    Recolor();
  }

 private:
  // each agent wears the colour of the goal the other agent sees, as MPE's reset does
  void Recolor() {
    world_.agent(1).color = kLandmarkColors[goal_[0]];
    world_.agent(0).color = kLandmarkColors[goal_[1]];
  }

  double local_ratio_;
  int goal_[2] = {0, 0};  // goal landmark of each agent (for the other agent to reach)
};

}  // namespace

std::unique_ptr<env::MultiAgentEnv> MakeSimpleReference(const env::KwargReader& kw) {
  const int64_t max_cycles = kw.Int("max_cycles");
  const double local_ratio = kw.Double("local_ratio");
  if (max_cycles < 1 || max_cycles > 1'000'000'000)
    throw Error("simple_reference_v3: kwarg 'max_cycles': expected a positive integer");
  if (!(local_ratio >= 0.0 && local_ratio <= 1.0))
    throw Error("simple_reference_v3: kwarg 'local_ratio': expected a number in [0, 1]");
  return std::make_unique<SimpleReference>(local_ratio, static_cast<int>(max_cycles),
                                           kw.Bool("continuous_actions"));
}

}  // namespace rlforge::envs::mpe
