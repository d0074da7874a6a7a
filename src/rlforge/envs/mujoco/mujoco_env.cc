#include "rlforge/envs/mujoco/mujoco_env.h"

#include <GL/osmesa.h>
#include <dlfcn.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "rlforge/core/error.h"
#include "rlforge/envs/mujoco/assets.h"

namespace rlforge::envs::mujoco {

std::shared_ptr<const mjModel> LoadModel(const std::string& file) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const mjModel>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(file); it != cache.end()) return it->second;

  const auto xml = ModelXml(file);
  if (!xml) throw Error("MuJoCo model '" + file + "' is not embedded in rlforge");
  auto vfs = std::make_unique<mjVFS>();  // large (file table), so not on the stack
  mj_defaultVFS(vfs.get());
  const int size = static_cast<int>(xml->size());
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), size) != 0)
    throw Error("MuJoCo: cannot stage model '" + file + "'");
  std::memcpy(vfs->filedata[mj_findFileVFS(vfs.get(), file.c_str())], xml->data(), xml->size());
  char error[1000] = "";
  mjModel* model = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  if (!model) throw Error("MuJoCo: cannot load '" + file + "': " + error);
  std::shared_ptr<const mjModel> shared(
      model, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
  cache.emplace(file, shared);
  return shared;
}

double SquaredNorm(std::span<const float> action) {
  float sum = 0.0f;
  for (float a : action) sum += a * a;
  return sum;
}

// ---- rendering ------------------------------------------------------------------------------

// OSMesa's entry points, loaded at the first render: linking libOSMesa (and the LLVM it pulls in)
// would cost every rlforge process ~20 ms and ~50 MB at start-up, rendering or not. Loaded
// RTLD_GLOBAL, so that MuJoCo's GL loader finds the gl* functions in it.
struct OsMesa {
  decltype(&OSMesaCreateContextExt) create_context;
  decltype(&OSMesaMakeCurrent) make_current;
  decltype(&OSMesaDestroyContext) destroy_context;

  static const OsMesa& Get() {
    static const OsMesa api = [] {
      void* lib = dlopen("libOSMesa.so.8", RTLD_NOW | RTLD_GLOBAL);
      if (lib == nullptr)
        throw Error(std::string("MuJoCo rendering: cannot load libOSMesa.so.8 (Debian's ") +
                    "libosmesa6): " + dlerror());
      const auto symbol = [&](const char* name) {
        void* f = dlsym(lib, name);
        if (f == nullptr) throw Error(std::string("MuJoCo rendering: libOSMesa lacks ") + name);
        return f;
      };
      return OsMesa{
          reinterpret_cast<decltype(&OSMesaCreateContextExt)>(symbol("OSMesaCreateContextExt")),
          reinterpret_cast<decltype(&OSMesaMakeCurrent)>(symbol("OSMesaMakeCurrent")),
          reinterpret_cast<decltype(&OSMesaDestroyContext)>(symbol("OSMesaDestroyContext"))};
    }();
    return api;
  }
};

// An OSMesa (software OpenGL, headless) context with MuJoCo's scene and GPU-side model copy.
class Renderer {
 public:
  Renderer(const mjModel& shared, mjData* data, const RenderOptions& options)
      : width_(options.width), height_(options.height) {
    // the offscreen buffer size is read from the model, so the renderer keeps its own copy
    model_ = mj_copyModel(nullptr, &shared);
    model_->vis.global.offwidth = width_;
    model_->vis.global.offheight = height_;
    context_ = OsMesa::Get().create_context(OSMESA_RGBA, 24, 8, 0, nullptr);
    if (!context_) throw Error("MuJoCo rendering: cannot create an OSMesa context");
    buffer_.resize(static_cast<size_t>(width_) * height_ * 4);
    MakeCurrent();
    mjv_defaultOption(&option_);
    mjv_defaultScene(&scene_);
    mjv_makeScene(model_, &scene_, 1000);
    mjr_defaultContext(&gl_);
    mjr_makeContext(model_, &gl_, mjFONTSCALE_150);
    InitCamera(data, options.camera);
  }
  ~Renderer() {
    MakeCurrent();
    mjr_freeContext(&gl_);
    mjv_freeScene(&scene_);
    OsMesa::Get().destroy_context(context_);
    mj_deleteModel(model_);
  }
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  env::Image Render(mjData* data) {
    MakeCurrent();
    mjv_updateScene(model_, data, &option_, nullptr, &camera_, mjCAT_ALL, &scene_);
    mjr_setBuffer(mjFB_OFFSCREEN, &gl_);
    const mjrRect viewport{0, 0, width_, height_};
    mjr_render(viewport, &scene_, &gl_);
    env::Image image{height_, width_, std::vector<uint8_t>(buffer_.size() / 4 * 3)};
    mjr_readPixels(image.rgb.data(), nullptr, viewport, &gl_);
    FlipRows(image);
    return image;
  }

 private:
  void MakeCurrent() {
    if (!OsMesa::Get().make_current(context_, buffer_.data(), GL_UNSIGNED_BYTE, width_, height_))
      throw Error("MuJoCo rendering: cannot make the OSMesa context current");
  }

  // Gymnasium's choice: the model's "track" camera if it has one, else a free camera looking at
  // the median geom position from the model's extent, then the env's camera config.
  void InitCamera(const mjData* data, const CameraConfig& config) {
    mjv_defaultCamera(&camera_);
    const int track = mj_name2id(model_, mjOBJ_CAMERA, "track");
    if (track >= 0) {
      camera_.type = mjCAMERA_FIXED;
      camera_.fixedcamid = track;
      return;
    }
    camera_.type = mjCAMERA_FREE;
    std::vector<double> coord(model_->ngeom);
    for (int axis = 0; axis < 3; ++axis) {
      for (int g = 0; g < model_->ngeom; ++g) coord[g] = data->geom_xpos[3 * g + axis];
      camera_.lookat[axis] = Median(coord);
    }
    camera_.distance = model_->stat.extent;
    if (config.distance) camera_.distance = *config.distance;
    if (config.lookat) std::copy(config.lookat->begin(), config.lookat->end(), camera_.lookat);
    if (config.elevation) camera_.elevation = *config.elevation;
    if (config.track_body > 0) {  // follow the body, so it never runs out of the picture
      camera_.type = mjCAMERA_TRACKING;
      camera_.trackbodyid = config.track_body;
    }
  }

  static double Median(std::vector<double> x) {  // np.median
    if (x.empty()) return 0.0;
    std::sort(x.begin(), x.end());
    const size_t n = x.size();
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
  }

  void FlipRows(env::Image& image) const {  // OpenGL rows run bottom-up
    const size_t row = static_cast<size_t>(width_) * 3;
    for (int y = 0; y < height_ / 2; ++y) {
      std::swap_ranges(image.rgb.begin() + y * row, image.rgb.begin() + (y + 1) * row,
                       image.rgb.begin() + (height_ - 1 - y) * row);
    }
  }

  int width_, height_;
  mjModel* model_ = nullptr;  // the renderer's copy, with the offscreen size set
  OSMesaContext context_ = nullptr;
  std::vector<uint8_t> buffer_;  // OSMesa's default framebuffer   (height x width x 4)
  mjvOption option_;
  mjvScene scene_;
  mjvCamera camera_;
  mjrContext gl_;
};

// ---- MujocoEnv ------------------------------------------------------------------------------

MujocoEnv::MujocoEnv(const std::string& model_file, int frame_skip, int obs_size,
                     RenderOptions render)
    : model_(LoadModel(model_file)),
      data_(mj_makeData(model_.get()), [](mjData* d) { mj_deleteData(d); }),
      frame_skip_(frame_skip),
      init_qpos_(data_->qpos, data_->qpos + model_->nq),
      init_qvel_(data_->qvel, data_->qvel + model_->nv),
      obs_space_(Space::Box(-INFINITY, INFINITY, {obs_size})),
      render_options_(std::move(render)) {
  if (render_options_.width < 1 || render_options_.height < 1 || render_options_.width > 4096 ||
      render_options_.height > 4096) {
    throw Error(model_file + ": width and height must be in [1, 4096], got " +
                std::to_string(render_options_.width) + "x" +
                std::to_string(render_options_.height));
  }
  std::vector<double> low(model_->nu), high(model_->nu);
  for (int i = 0; i < model_->nu; ++i) {
    low[i] = static_cast<float>(model_->actuator_ctrlrange[2 * i]);
    high[i] = static_cast<float>(model_->actuator_ctrlrange[2 * i + 1]);
  }
  act_space_ = Space::Box(low, high, {model_->nu});
  mj_forward(model_.get(), data_.get());
}

MujocoEnv::~MujocoEnv() = default;

double MujocoEnv::dt() const { return model_->opt.timestep * frame_skip_; }

void MujocoEnv::ResetState() {
  mj_resetData(model_.get(), data_.get());
  ResetModel();
}

void MujocoEnv::DoSimulation(const Action& action) {
  for (int i = 0; i < model_->nu; ++i) data_->ctrl[i] = action.continuous[i];
  for (int i = 0; i < frame_skip_; ++i) mj_step(model_.get(), data_.get());
  // cacc and cfrc_ext are only computed on demand since MuJoCo 2.0 (gym issue 1541); Gymnasium
  // computes them after every step, rlforge where the env reads them (the values are the same)
  if (reads_contact_forces_) mj_rnePostConstraint(model_.get(), data_.get());
}

void MujocoEnv::SetQ(std::span<const double> qpos, std::span<const double> qvel) {
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(model_.get(), data_.get());
}

std::vector<double> MujocoEnv::UniformAround(const std::vector<double>& init, double low,
                                             double high) {
  std::vector<double> x(init);
  for (double& v : x) v += np_random_.Uniform(low, high);
  return x;
}

std::vector<double> MujocoEnv::NormalAround(const std::vector<double>& init, double scale) {
  std::vector<double> x(init);
  for (double& v : x) v += scale * np_random_.Normal(0.0, 1.0);
  return x;
}

void MujocoEnv::ResetUniform(double q, double v) {
  const auto qpos = UniformAround(init_qpos_, -q, q);  // drawn first, as in Gymnasium
  SetQ(qpos, UniformAround(init_qvel_, -v, v));
}

void MujocoEnv::ResetUniformNormal(double q, double v) {
  const auto qpos = UniformAround(init_qpos_, -q, q);
  SetQ(qpos, NormalAround(init_qvel_, v));
}

int MujocoEnv::BodyId(const char* name) const {
  const int id = mj_name2id(model_.get(), mjOBJ_BODY, name);
  if (id < 0) throw Error(spec().id + ": the model has no body '" + name + "'");
  return id;
}

std::span<const double> MujocoEnv::qpos() const { return {data_->qpos, size_t(model_->nq)}; }
std::span<const double> MujocoEnv::qvel() const { return {data_->qvel, size_t(model_->nv)}; }

std::array<double, 3> MujocoEnv::BodyXpos(int body) const {
  const double* p = data_->xpos + 3 * body;
  return {p[0], p[1], p[2]};
}

std::vector<env::Signal> MujocoEnv::Signals() const {
  const mjModel& m = *model_;
  std::vector<env::Signal> qpos, qvel;
  for (int j = 0; j < m.njnt; ++j) {
    const char* name = mj_id2name(&m, mjOBJ_JOINT, j);
    const std::string joint = name != nullptr && *name ? name : "joint" + std::to_string(j);
    const int type = m.jnt_type[j];
    const bool angular = type == mjJNT_HINGE || type == mjJNT_BALL;
    std::vector<std::string> pos_parts = {""}, vel_parts = {""};
    if (type == mjJNT_FREE) {
      pos_parts = {"_x", "_y", "_z", "_qw", "_qx", "_qy", "_qz"};
      vel_parts = {"_vx", "_vy", "_vz", "_wx", "_wy", "_wz"};
    } else if (type == mjJNT_BALL) {
      pos_parts = {"_qw", "_qx", "_qy", "_qz"};
      vel_parts = {"_wx", "_wy", "_wz"};
    }
    const bool limited = m.jnt_limited[j] && pos_parts.size() == 1;
    for (const std::string& part : pos_parts) {
      qpos.push_back({"qpos/" + joint + part, angular ? "rad" : "m",
                      limited ? m.jnt_range[2 * j] : NAN, limited ? m.jnt_range[2 * j + 1] : NAN});
    }
    for (const std::string& part : vel_parts)
      qvel.push_back({"qvel/" + joint + part, angular ? "rad/s" : "m/s"});
  }
  qpos.insert(qpos.end(), qvel.begin(), qvel.end());
  return qpos;
}

// qpos and qvel in joint order: Signals() lists each joint's parts in model order, and joints'
// qpos/dof addresses increase with their index
void MujocoEnv::SignalValues(double* out) const {
  std::copy_n(data_->qpos, model_->nq, out);
  std::copy_n(data_->qvel, model_->nv, out + model_->nq);
}

std::vector<double> MujocoEnv::GetState() const {
  std::vector<double> state(qpos().begin(), qpos().end());
  state.insert(state.end(), qvel().begin(), qvel().end());
  state.insert(state.end(), data_->ctrl, data_->ctrl + model_->nu);
  return state;
}

void MujocoEnv::SetState(std::span<const double> state) {
  const size_t nq = model_->nq, nv = model_->nv, nu = model_->nu;
  if (state.size() != nq + nv && state.size() != nq + nv + nu) {
    throw Error(spec().id + ": state must have nq + nv = " + std::to_string(nq + nv) +
                " values (qpos, qvel) or nq + nv + nu = " + std::to_string(nq + nv + nu) +
                " (qpos, qvel, ctrl), got " + std::to_string(state.size()));
  }
  for (double v : state) {
    if (!std::isfinite(v)) throw Error(spec().id + ": state values must be finite");
  }
  // a fresh start: no solver warm start from whatever ran before, so the result depends on the
  // state alone (Gymnasium's set_state keeps the old warm start)
  std::fill(data_->qacc_warmstart, data_->qacc_warmstart + nv, 0.0);
  std::fill(data_->ctrl, data_->ctrl + nu, 0.0);
  if (state.size() == nq + nv + nu) std::copy(state.begin() + nq + nv, state.end(), data_->ctrl);
  SetQ(state.first(nq), state.subspan(nq, nv));
  if (reads_contact_forces_) mj_rnePostConstraint(model_.get(), data_.get());
}

void MujocoEnv::SaveSnapshot(ByteWriter& out) const {
  env::FloatEnv::SaveSnapshot(out);
  out.Put<double>(data_->time);
  out.PutVector(std::vector<double>(data_->qacc_warmstart, data_->qacc_warmstart + model_->nv));
  out.PutVector(std::vector<double>(data_->act, data_->act + model_->na));
  out.PutVector(std::vector<double>(data_->ctrl, data_->ctrl + model_->nu));
  // body positions as the last integrator stage left them: rewards read them before stepping
  out.PutVector(std::vector<double>(data_->xpos, data_->xpos + 3 * model_->nbody));
  out.PutVector(std::vector<double>(data_->xipos, data_->xipos + 3 * model_->nbody));
}

void MujocoEnv::LoadSnapshot(ByteReader& in) {
  env::FloatEnv::LoadSnapshot(in);
  data_->time = in.Get<double>();
  const auto restore = [&](double* to, int n, const char* what) {
    const auto values = in.GetVector<double>();
    if (values.size() != static_cast<size_t>(n))
      throw Error(spec().id + ": snapshot has a wrong-sized " + what);
    std::copy(values.begin(), values.end(), to);
  };
  restore(data_->qacc_warmstart, model_->nv, "qacc_warmstart");
  restore(data_->act, model_->na, "act");
  restore(data_->ctrl, model_->nu, "ctrl");
  restore(data_->xpos, 3 * model_->nbody, "xpos");
  restore(data_->xipos, 3 * model_->nbody, "xipos");
}

env::Image MujocoEnv::Render() const {
  if (!renderer_) renderer_ = std::make_unique<Renderer>(*model_, data_.get(), render_options_);
  return renderer_->Render(data_.get());
}

}  // namespace rlforge::envs::mujoco
