// MPE's World.step (mpe2/_mpe_utils/core.py) and SimpleEnv's action decoding and rendering
// (simple_env.py), in MPE's operation order so that every bit matches.
#include <algorithm>
#include <cmath>

#include "rlforge/core/error.h"
#include "rlforge/envs/mpe/mpe.h"

namespace rlforge::envs::mpe {
namespace {

// NumPy's logaddexp(0, y) (npy_math: x == y -> x + ln 2, else the larger plus log1p(exp(-|d|))).
double LogAddExp0(double y) {
  if (y == 0.0) return 0.0 + M_LN2;
  const double t = 0.0 - y;
  if (t > 0) return 0.0 + std::log1p(std::exp(-t));
  return y + std::log1p(std::exp(t));
}

}  // namespace

void World::Allocate() {
  u.assign(static_cast<size_t>(num_agents) * 2, 0.0);
  comm.assign(static_cast<size_t>(num_agents * dim_c), 0.0);
  comm_action = comm;
  silent.resize(static_cast<size_t>(num_agents), 1);
  force_.assign(entities.size() * 2, 0.0);
  has_force_.assign(entities.size(), 0);
}

void World::Step() {
  // action forces: p_force[i] = u + 0.0
  std::fill(has_force_.begin(), has_force_.end(), uint8_t{0});
  for (int i = 0; i < num_agents; ++i) {
    force_[2 * i] = u[2 * i] + 0.0;
    force_[2 * i + 1] = u[2 * i + 1] + 0.0;
    has_force_[static_cast<size_t>(i)] = 1;
  }
  // contact forces, every colliding pair a < b: softplus penetration pushes them apart
  const auto n = static_cast<int>(entities.size());
  for (int a = 0; a < n; ++a) {
    const Entity& ea = entities[static_cast<size_t>(a)];
    for (int b = a + 1; b < n; ++b) {
      const Entity& eb = entities[static_cast<size_t>(b)];
      if (!ea.collide || !eb.collide) continue;
      const double d[2] = {ea.pos[0] - eb.pos[0], ea.pos[1] - eb.pos[1]};
      const double dist = std::sqrt(d[0] * d[0] + d[1] * d[1]);
      const double dist_min = ea.size + eb.size;
      const double penetration = LogAddExp0(-(dist - dist_min) / kContactMargin) * kContactMargin;
      for (int k = 0; k < 2; ++k) {
        const double f = ((kContactForce * d[k]) / dist) * penetration;
        if (ea.movable) {
          if (!has_force_[static_cast<size_t>(a)]) force_[2 * a + k] = 0.0;
          force_[2 * a + k] = f + force_[2 * a + k];
        }
        if (eb.movable) {
          if (!has_force_[static_cast<size_t>(b)]) force_[2 * b + k] = 0.0;
          force_[2 * b + k] = (-f) + force_[2 * b + k];
        }
      }
      has_force_[static_cast<size_t>(a)] |= ea.movable;
      has_force_[static_cast<size_t>(b)] |= eb.movable;
    }
  }
  // integration (v3 order): position with the old velocity, then damping, force, speed limit
  for (int i = 0; i < n; ++i) {
    Entity& e = entities[static_cast<size_t>(i)];
    if (!e.movable) continue;
    for (int k = 0; k < 2; ++k) e.pos[k] += e.vel[k] * kDt;
    for (int k = 0; k < 2; ++k) e.vel[k] = e.vel[k] * (1 - kDamping);
    if (has_force_[static_cast<size_t>(i)]) {
      for (int k = 0; k < 2; ++k) e.vel[k] += (force_[2 * i + k] / kMass) * kDt;
    }
    if (!std::isnan(e.max_speed)) {
      const double speed = std::sqrt(e.vel[0] * e.vel[0] + e.vel[1] * e.vel[1]);
      if (speed > e.max_speed) {
        const double norm = std::sqrt(e.vel[0] * e.vel[0] + e.vel[1] * e.vel[1]);
        for (int k = 0; k < 2; ++k) e.vel[k] = (e.vel[k] / norm) * e.max_speed;
      }
    }
  }
  // communication state: what each speaking agent said (silent ones keep zeros)
  for (int i = 0; i < num_agents; ++i) {
    for (int k = 0; k < dim_c; ++k) {
      const size_t j = static_cast<size_t>(i * dim_c + k);
      comm[j] = silent[static_cast<size_t>(i)] ? 0.0 : comm_action[j] + 0.0;
    }
  }
}

// ---- MpeEnv -------------------------------------------------------------------------------------

void MpeEnv::DeclareMpeAgents(bool continuous, bool say_head,
                              const std::vector<int64_t>& observation_sizes) {
  continuous_ = continuous;
  world_.Allocate();
  std::vector<std::string> names;
  std::vector<Space> obs, act;
  for (int i = 0; i < world_.num_agents; ++i) {
    const bool speaks = !world_.silent[static_cast<size_t>(i)];
    names.push_back(world_.agent(i).name);
    obs.push_back(Space::Box(-INFINITY, INFINITY, {observation_sizes[static_cast<size_t>(i)]}));
    if (continuous) {
      act.push_back(Space::Box(0.0, 1.0, {5 + (speaks ? world_.dim_c : 0)}));
    } else if (speaks && say_head) {
      act.push_back(Space::MultiDiscrete({5, world_.dim_c}));
    } else {
      act.push_back(Space::Discrete(speaks ? 5 * world_.dim_c : 5));
    }
  }
  DeclareAgents(std::move(names), std::move(obs), std::move(act));
}

void MpeEnv::Advance(std::span<const Action> actions) {
  for (int i = 0; i < world_.num_agents; ++i) {
    const Action& a = actions[static_cast<size_t>(i)];
    const bool speaks = !world_.silent[static_cast<size_t>(i)];
    double* u = &world_.u[static_cast<size_t>(2 * i)];
    double* c = &world_.comm_action[static_cast<size_t>(i * world_.dim_c)];
    u[0] = u[1] = 0.0;
    std::fill(c, c + world_.dim_c, 0.0);
    if (continuous_) {
      // the subtraction happens in the action's float32, as PettingZoo fed float32 arrays
      u[0] += static_cast<float>(a.continuous[2] - a.continuous[1]);
      u[1] += static_cast<float>(a.continuous[4] - a.continuous[3]);
      for (int k = 0; speaks && k < world_.dim_c; ++k)
        c[k] = a.continuous[static_cast<size_t>(5 + k)];
    } else {
      // one Discrete(5 x dim_c) head is move + 5 * say; two heads are [move, say]
      int64_t move = a.discrete[0], say = 0;
      if (speaks && a.discrete.size() == 2) say = a.discrete[1];
      if (speaks && a.discrete.size() == 1) say = move / 5, move = move % 5;
      if (move == 1) u[0] = -1.0;
      if (move == 2) u[0] = +1.0;
      if (move == 3) u[1] = -1.0;
      if (move == 4) u[1] = +1.0;
      if (speaks) c[say] = 1.0;
    }
    u[0] *= world_.agent(i).accel;
    u[1] *= world_.agent(i).accel;
  }
  world_.Step();
}

std::vector<double> MpeEnv::GetState() const {
  std::vector<double> state;
  for (const Entity& e : world_.entities)
    state.insert(state.end(), {e.pos[0], e.pos[1], e.vel[0], e.vel[1]});
  state.insert(state.end(), world_.comm.begin(), world_.comm.end());
  const std::vector<double> extra = Extra();
  state.insert(state.end(), extra.begin(), extra.end());
  return state;
}

void MpeEnv::SetState(std::span<const double> state) {
  const size_t expected = world_.entities.size() * 4 + world_.comm.size() + ExtraSize();
  if (state.size() != expected)
    throw Error(spec_.id + ": state must have " + std::to_string(expected) +
                " values (per entity pos, vel; per agent comm" +
                (ExtraSize() ? "; scenario values" : "") + "), got " +
                std::to_string(state.size()));
  for (double v : state) {
    if (!std::isfinite(v)) throw Error(spec_.id + ": state values must be finite");
  }
  size_t at = 0;
  for (Entity& e : world_.entities) {
    e.pos[0] = state[at++], e.pos[1] = state[at++];
    e.vel[0] = state[at++], e.vel[1] = state[at++];
  }
  for (double& c : world_.comm) c = state[at++];
  SetExtra(state.subspan(at));
}

env::Image MpeEnv::Render() const {
  // MPE's picture: 700 x 700, the camera fitted to the farthest entity, circles of size x 350
  constexpr int kSize = 700;
  double cam_range = 0.0;
  for (const Entity& e : world_.entities)
    cam_range = std::max({cam_range, std::fabs(e.pos[0]), std::fabs(e.pos[1])});
  if (cam_range == 0.0) cam_range = 1.0;
  Canvas canvas(kSize, kSize);
  for (const Entity& e : world_.entities) {
    const double x = std::floor(e.pos[0] / cam_range * kSize / 2) * 0.9 + kSize / 2;
    const double y = std::floor(e.pos[1] / cam_range * kSize / 2) * 0.9 + kSize / 2;
    const double r = e.size * 350;
    canvas.Circle(x, y, r, Color{0, 0, 0});
    canvas.Circle(x, y, std::max(r - 1.0, 0.5), e.color);
  }
  return canvas.ToImage();
}

}  // namespace rlforge::envs::mpe
