// Base of the MuJoCo environments, with the semantics of Gymnasium's MujocoEnv (v4, mujoco
// bindings): one mjModel per model file shared read-only by every copy, one mjData per env,
// `frame_skip` calls of mj_step per env step, the action written to ctrl unclipped (MuJoCo clamps
// it to ctrlrange), mj_rnePostConstraint after stepping so cfrc_ext and cacc are filled in.
//
// Observations are float32 (Gymnasium's are float64; the values are the same, rounded).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rlforge/env/registry.h"

struct mjModel_;
struct mjData_;

namespace rlforge::envs::mujoco {

void RegisterMujoco();

// The compiled model of an embedded file ("hopper.xml"), loaded once and shared.
std::shared_ptr<const mjModel_> LoadModel(const std::string& file);

// Gymnasium's DEFAULT_CAMERA_CONFIG, used when the model has no "track" camera.
struct CameraConfig {
  int track_body = -1;                          // body the camera follows; -1 or 0: none
  std::optional<double> distance;               // from the look-at point; default: model extent
  std::optional<std::array<double, 3>> lookat;  // default: median of the geom positions
  std::optional<double> elevation;              // degrees; default -45
};

// Offscreen rendering, reused across frames.
struct RenderOptions {
  int width = 480;
  int height = 480;
  CameraConfig camera;
};

class Renderer;

class MujocoEnv : public env::FloatEnv {
 public:
  ~MujocoEnv() override;

  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }

  // [qpos (nq), qvel (nv), ctrl (nu)]: Gymnasium's (qpos, qvel) plus the last control, which
  // Humanoid's observation reads (qfrc_actuator). SetState takes either form; without ctrl it
  // is zero, as after reset.
  std::vector<double> GetState() const override;
  void SetState(std::span<const double> state) override;
  env::Image Render() const override;
  double replay_tolerance() const override { return 0.05; }
  // qpos/<joint> and qvel/<joint> by the model's joint names (a free joint's parts as
  // <joint>_x ... <joint>_qz, a ball's as <joint>_qw ...), with the joints' ranges where limited.
  std::vector<env::Signal> Signals() const override;
  void SignalValues(double* out) const override;

  // Snapshots add what GetState leaves out (time, solver warm start, activations, ctrl, and the
  // body positions of the last RK4 stage that the next reward reads), so a restored env
  // continues bit for bit.
  void SaveSnapshot(ByteWriter& out) const override;
  void LoadSnapshot(ByteReader& in) override;

  const mjModel_& model() const { return *model_; }
  const mjData_& data() const { return *data_; }
  double dt() const;  // seconds per env step: timestep x frame_skip

 protected:
  MujocoEnv(const std::string& model_file, int frame_skip, int obs_size, RenderOptions render);

  void ResetState() final;        // mj_resetData, then ResetModel
  virtual void ResetModel() = 0;  // draws the initial qpos/qvel from np_random_ (reset_model)
  void DoSimulation(const Action& action);  // ctrl = action, frame_skip x mj_step
  void SetQ(std::span<const double> qpos, std::span<const double> qvel);  // + mj_forward

  // Reset noise as Gymnasium draws it: x = init + U(low, high) per element, in order.
  std::vector<double> UniformAround(const std::vector<double>& init, double low, double high);
  // x = init + scale * N(0, 1) per element.
  std::vector<double> NormalAround(const std::vector<double>& init, double scale);
  // reset_model's two common forms: qpos += U(-q, q), then qvel += U(-v, v) or v * N(0, 1)
  void ResetUniform(double q, double v);
  void ResetUniformNormal(double q, double v);

  int BodyId(const char* name) const;  // throws if the model has no such body
  std::span<const double> qpos() const;
  std::span<const double> qvel() const;
  std::array<double, 3> BodyXpos(int body) const;  // get_body_com(): the body frame's origin

  std::shared_ptr<const mjModel_> model_;              // physics, shared by every env of this type
  std::unique_ptr<mjData_, void (*)(mjData_*)> data_;  // this env's simulation state
  int frame_skip_;
  std::vector<double> init_qpos_;      // qpos of the model's reference pose   (nq)
  std::vector<double> init_qvel_;      // zero velocities                       (nv)
  bool reads_contact_forces_ = false;  // observations/rewards read cfrc_ext (mj_rnePostConstraint)

 private:
  Space obs_space_, act_space_;
  RenderOptions render_options_;
  mutable std::unique_ptr<Renderer> renderer_;  // created by the first Render()
};

// Sum of squares of a float32 action, accumulated in float32 as NumPy's np.sum(np.square(a)).
double SquaredNorm(std::span<const float> action);

}  // namespace rlforge::envs::mujoco
