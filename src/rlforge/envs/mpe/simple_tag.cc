// simple_tag_v3 (mpe2/simple_tag/simple_tag.py): slower adversaries chase faster good agents
// around obstacles. Each adversary gets +10 whenever any adversary touches any good agent; a
// good agent gets -10 per adversary touching it and a penalty for leaving the [-1, 1] square.
#include "rlforge/core/error.h"
#include "rlforge/envs/mpe/mpe.h"

namespace rlforge::envs::mpe {
namespace {

class SimpleTag final : public MpeEnv {
 public:
  SimpleTag(int num_good, int num_adversaries, int num_obstacles, int max_cycles, bool continuous)
      : num_adversaries_(num_adversaries) {
    spec_ = {"simple_tag_v3", max_cycles};
    world_.dim_c = 2;
    const int n = num_good + num_adversaries;
    world_.num_agents = n;
    std::vector<int64_t> obs_sizes;
    for (int i = 0; i < n; ++i) {
      const bool adversary = i < num_adversaries;
      Entity e;
      e.name = adversary ? "adversary_" + std::to_string(i)
                         : "agent_" + std::to_string(i - num_adversaries);
      e.movable = true;
      e.size = adversary ? 0.075 : 0.05;
      e.accel = adversary ? 3.0 : 4.0;
      e.max_speed = adversary ? 1.0 : 1.3;
      e.color = adversary ? Color{217, 89, 89} : Color{89, 217, 89};
      world_.entities.push_back(e);
      // v, p, obstacles, other agents, velocities of the other good agents
      obs_sizes.push_back(4 + 2 * num_obstacles + 2 * (n - 1) + 2 * (num_good - !adversary));
    }
    for (int l = 0; l < num_obstacles; ++l) {
      Entity e;
      e.name = "landmark " + std::to_string(l);
      e.size = 0.2;
      e.color = {64, 64, 64};
      world_.entities.push_back(e);
    }
    DeclareMpeAgents(continuous, false, obs_sizes);
  }

 protected:
  bool adversary(int i) const { return i < num_adversaries_; }

  void ResetWorld() override {
    for (int i = 0; i < static_cast<int>(world_.entities.size()); ++i) {
      Entity& e = world_.entities[static_cast<size_t>(i)];
      const double bound = i < world_.num_agents ? 1.0 : 0.9;  // obstacles: U(-0.9, 0.9)
      e.pos[0] = np_random_.Uniform(-bound, bound);
      e.pos[1] = np_random_.Uniform(-bound, bound);
      e.vel[0] = e.vel[1] = 0.0;
    }
    std::fill(world_.comm.begin(), world_.comm.end(), 0.0);
  }

  // the penalty per coordinate for leaving the square
  static double Bound(double x) {
    if (x < 0.9) return 0;
    if (x < 1.0) return (x - 0.9) * 10;
    return std::min(std::exp(2 * x - 2), 10.0);
  }

  void Reward(double* rewards) override {
    double catches = 0;  // (good, adversary) pairs touching: every adversary's reward
    for (int g = num_adversaries_; g < world_.num_agents; ++g) {
      for (int a = 0; a < num_adversaries_; ++a)
        catches += Colliding(world_.agent(g), world_.agent(a)) ? 10 : 0;
    }
    for (int i = 0; i < world_.num_agents; ++i) {
      if (adversary(i)) {
        rewards[i] = catches;
        continue;
      }
      double r = 0;
      for (int a = 0; a < num_adversaries_; ++a) {
        if (Colliding(world_.agent(a), world_.agent(i))) r -= 10;
      }
      for (double p : world_.agent(i).pos) r -= Bound(std::fabs(p));
      rewards[i] = r;
    }
  }

  // [v_i, p_i, obstacles - p_i, other agents - p_i, other good agents' v]
  void ObserveAgent(int i, float* obs) const override {
    const Entity& me = world_.agent(i);
    auto put = [&obs](double x, double y) {
      *obs++ = static_cast<float>(x), *obs++ = static_cast<float>(y);
    };
    put(me.vel[0], me.vel[1]);
    put(me.pos[0], me.pos[1]);
    for (size_t l = static_cast<size_t>(world_.num_agents); l < world_.entities.size(); ++l)
      put(world_.entities[l].pos[0] - me.pos[0], world_.entities[l].pos[1] - me.pos[1]);
    for (int j = 0; j < world_.num_agents; ++j) {
      if (j != i) put(world_.agent(j).pos[0] - me.pos[0], world_.agent(j).pos[1] - me.pos[1]);
    }
    for (int j = num_adversaries_; j < world_.num_agents; ++j) {
      if (j != i) put(world_.agent(j).vel[0], world_.agent(j).vel[1]);
    }
  }

 private:
  int num_adversaries_;
};

}  // namespace

std::unique_ptr<env::MultiAgentEnv> MakeSimpleTag(const env::KwargReader& kw) {
  const int64_t good = kw.Int("num_good"), adversaries = kw.Int("num_adversaries"),
                obstacles = kw.Int("num_obstacles"), max_cycles = kw.Int("max_cycles");
  auto check = [](const char* name, int64_t v, int64_t low) {
    if (v < low || v > 64)
      throw Error(std::string("simple_tag_v3: kwarg '") + name + "': expected " +
                  std::to_string(low) + "..64, got " + std::to_string(v));
  };
  check("num_good", good, 1);
  check("num_adversaries", adversaries, 1);
  check("num_obstacles", obstacles, 0);
  if (max_cycles < 1 || max_cycles > 1'000'000'000)
    throw Error("simple_tag_v3: kwarg 'max_cycles': expected a positive integer");
  return std::make_unique<SimpleTag>(static_cast<int>(good), static_cast<int>(adversaries),
                                     static_cast<int>(obstacles), static_cast<int>(max_cycles),
                                     kw.Bool("continuous_actions"));
}

}  // namespace rlforge::envs::mpe
