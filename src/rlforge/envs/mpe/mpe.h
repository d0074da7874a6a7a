// MPE (multi-agent particle environments), bit-exact with MPE2 1.1.0 / PettingZoo 1.24.3-1.25:
// simple_spread_v3, simple_reference_v3, simple_tag_v3. Physics in float64 as MPE's NumPy code,
// observations cast to float32 after the float64 math (../shared/reference/notes_mpe.md).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "rlforge/env/multi_agent.h"
#include "rlforge/envs/classic_control/canvas.h"

namespace rlforge::envs::mpe {

// MPE's World constants (mpe2/_mpe_utils/core.py).
constexpr double kDt = 0.1;
constexpr double kDamping = 0.25;
constexpr double kContactForce = 100.0;
constexpr double kContactMargin = 1e-3;
constexpr double kMass = 1.0;
constexpr double kDefaultSensitivity = 5.0;  // force per unit action when `accel` is None

// An agent or a landmark. Agents come first in the world's entity list, as in MPE.
struct Entity {
  std::string name;
  double size = 0.05;
  bool movable = false;
  bool collide = true;
  double accel = kDefaultSensitivity;  // action sensitivity
  double max_speed = NAN;              // NaN: no speed limit
  Color color{64, 64, 64};             // fill colour, RGB (MPE's 0-1 colour x 255)
  double pos[2] = {0.0, 0.0};          // p_pos
  double vel[2] = {0.0, 0.0};          // p_vel
};

// The particle world: entities, their forces and the semi-implicit integration of MPE v3.
class World {
 public:
  int dim_c = 2;                    // communication channels per agent
  int num_agents = 0;               // entities [0, num_agents) are agents
  std::vector<Entity> entities;     // agents, then landmarks
  std::vector<double> u;            // physical action per agent, scaled   (agents x 2)
  std::vector<double> comm;         // communication state per agent   (agents x dim_c)
  std::vector<double> comm_action;  // communication action per agent  (agents x dim_c)
  std::vector<uint8_t> silent;      // agent does not communicate   (agents)

  // Sizes the per-agent arrays (after entities, num_agents and dim_c are set).
  void Allocate();
  // One world step: action forces, contact forces, integration, communication state.
  void Step();
  Entity& agent(int i) { return entities[static_cast<size_t>(i)]; }
  const Entity& agent(int i) const { return entities[static_cast<size_t>(i)]; }

 private:
  std::vector<double> force_;       // total force per entity   (entities x 2)
  std::vector<uint8_t> has_force_;  // a force acted (MPE's p_force not None)   (entities)
};

// |a - b| as MPE computes it: sqrt(dx*dx + dy*dy).
inline double Distance(const Entity& a, const Entity& b) {
  const double dx = a.pos[0] - b.pos[0], dy = a.pos[1] - b.pos[1];
  return std::sqrt(dx * dx + dy * dy);
}
inline bool Colliding(const Entity& a, const Entity& b) { return Distance(a, b) < a.size + b.size; }

// Base of the scenarios: action decoding (discrete move + optional say head, or continuous),
// the world step, the state layout and rendering.
class MpeEnv : public env::MultiAgentEnv {
 public:
  env::Image Render() const override;
  // State: per entity pos(2), vel(2); then per agent comm (dim_c); then Extra() values.
  std::vector<double> GetState() const override;
  void SetState(std::span<const double> state) override;

 protected:
  // Spaces of MPE2: Discrete(5 [x dim_c]) as one head (or [5, dim_c] heads when
  // `say_head`), or Box(0, 1, (5 [+ dim_c],)).
  void DeclareMpeAgents(bool continuous, bool say_head,
                        const std::vector<int64_t>& observation_sizes);
  void Advance(std::span<const Action> actions) final;
  virtual std::vector<double> Extra() const { return {}; }
  virtual void SetExtra(std::span<const double> extra) {}
  virtual size_t ExtraSize() const { return 0; }

  World world_;
  bool continuous_ = false;
};

std::unique_ptr<env::MultiAgentEnv> MakeSimpleSpread(const env::KwargReader& kw);
std::unique_ptr<env::MultiAgentEnv> MakeSimpleReference(const env::KwargReader& kw);
std::unique_ptr<env::MultiAgentEnv> MakeSimpleTag(const env::KwargReader& kw);

void RegisterMpe();

}  // namespace rlforge::envs::mpe
