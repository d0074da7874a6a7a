// simple_spread_v3 (mpe2/simple_spread/simple_spread.py): N agents cover N landmarks. Every agent
// shares the global reward G = -sum over landmarks of the nearest agent's distance, and gets -1
// per other agent it touches; r_i = G * (1 - local_ratio) + collisions_i * local_ratio.
#include "rlforge/core/error.h"
#include "rlforge/envs/mpe/mpe.h"

namespace rlforge::envs::mpe {
namespace {

constexpr double kAgentSize = 0.15;

class SimpleSpread final : public MpeEnv {
 public:
  SimpleSpread(int n, double local_ratio, int max_cycles, bool continuous)
      : n_(n), local_ratio_(local_ratio) {
    spec_ = {"simple_spread_v3", max_cycles};
    world_.dim_c = 2;
    world_.num_agents = n;
    for (int i = 0; i < n; ++i) {
      Entity e;
      e.name = "agent_" + std::to_string(i);
      e.size = kAgentSize;
      e.movable = true;
      e.color = {89, 89, 217};  // 0.35, 0.35, 0.85
      world_.entities.push_back(e);
    }
    for (int i = 0; i < n; ++i) {
      Entity e;
      e.name = "landmark " + std::to_string(i);
      e.collide = false;
      e.color = {64, 64, 64};  // 0.25 each
      world_.entities.push_back(e);
    }
    DeclareMpeAgents(continuous, false, std::vector<int64_t>(static_cast<size_t>(n), 6 * n));
  }

 protected:
  void ResetWorld() override {
    for (Entity& e : world_.entities) {
      e.pos[0] = np_random_.Uniform(-1.0, 1.0);
      e.pos[1] = np_random_.Uniform(-1.0, 1.0);
      e.vel[0] = e.vel[1] = 0.0;
    }
    std::fill(world_.comm.begin(), world_.comm.end(), 0.0);
  }

  void Reward(double* rewards) override {
    double global = 0;
    for (int l = 0; l < n_; ++l) {
      const Entity& landmark = world_.entities[static_cast<size_t>(n_ + l)];
      double nearest = INFINITY;
      for (int i = 0; i < n_; ++i) nearest = std::min(nearest, Distance(world_.agent(i), landmark));
      global -= nearest;
    }
    for (int i = 0; i < n_; ++i) {
      double collisions = 0;
      for (int j = 0; j < n_; ++j) {
        if (j != i && Colliding(world_.agent(j), world_.agent(i))) collisions -= 1.0;
      }
      rewards[i] = global * (1 - local_ratio_) + collisions * local_ratio_;
      infos_[static_cast<size_t>(i)].Set("shared_reward", global);
      infos_[static_cast<size_t>(i)].Set("collision_reward", collisions);
    }
  }

  // [v_i, p_i, landmarks - p_i, other agents - p_i, other agents' comm]
  void ObserveAgent(int i, float* obs) const override {
    const Entity& me = world_.agent(i);
    auto put = [&obs](double x, double y) {
      *obs++ = static_cast<float>(x), *obs++ = static_cast<float>(y);
    };
    put(me.vel[0], me.vel[1]);
    put(me.pos[0], me.pos[1]);
    for (int l = 0; l < n_; ++l) {
      const Entity& landmark = world_.entities[static_cast<size_t>(n_ + l)];
      put(landmark.pos[0] - me.pos[0], landmark.pos[1] - me.pos[1]);
    }
    for (int j = 0; j < n_; ++j) {
      if (j != i) put(world_.agent(j).pos[0] - me.pos[0], world_.agent(j).pos[1] - me.pos[1]);
    }
    for (int j = 0; j < n_; ++j) {
      if (j != i)
        put(world_.comm[static_cast<size_t>(2 * j)], world_.comm[static_cast<size_t>(2 * j + 1)]);
    }
  }

 private:
  int n_;
  double local_ratio_;
};

}  // namespace

std::unique_ptr<env::MultiAgentEnv> MakeSimpleSpread(const env::KwargReader& kw) {
  const int64_t n = kw.Int("N"), max_cycles = kw.Int("max_cycles");
  const double local_ratio = kw.Double("local_ratio");
  if (n < 1 || n > 64)
    throw Error("simple_spread_v3: kwarg 'N': expected 1..64, got " + std::to_string(n));
  if (max_cycles < 1 || max_cycles > 1'000'000'000)
    throw Error("simple_spread_v3: kwarg 'max_cycles': expected a positive integer");
  if (!(local_ratio >= 0.0 && local_ratio <= 1.0))
    throw Error("simple_spread_v3: kwarg 'local_ratio': expected a number in [0, 1]");
  return std::make_unique<SimpleSpread>(static_cast<int>(n), local_ratio,
                                        static_cast<int>(max_cycles),
                                        kw.Bool("continuous_actions"));
}

}  // namespace rlforge::envs::mpe
