#include "rlforge/env/wrappers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::env {

Wrapper::Wrapper(std::unique_ptr<Env> env) : env_(std::move(env)) {
  if (!env_) throw Error("wrapper: no env to wrap");
  set_spec(env_->spec());
}

// ---- TimeLimit -----------------------------------------------------------------------------

TimeLimit::TimeLimit(std::unique_ptr<Env> env, int max_episode_steps)
    : Wrapper(std::move(env)), max_episode_steps_(max_episode_steps) {
  if (max_episode_steps <= 0) {
    throw Error("max_episode_steps: expected a positive integer, got " +
                std::to_string(max_episode_steps));
  }
}

void TimeLimit::Reset(std::optional<uint64_t> seed, void* obs) {
  elapsed_steps_ = 0;
  env_->Reset(seed, obs);
}

StepResult TimeLimit::Step(const Action& action, void* obs) {
  StepResult r = env_->Step(action, obs);
  ++elapsed_steps_;
  if (elapsed_steps_ >= max_episode_steps_) r.truncated = true;
  return r;
}

void TimeLimit::SetState(std::span<const double> state) {
  elapsed_steps_ = 0;
  env_->SetState(state);
}

void TimeLimit::SaveSnapshot(ByteWriter& out) const {
  env_->SaveSnapshot(out);
  out.Put<int32_t>(elapsed_steps_);
}

void TimeLimit::LoadSnapshot(ByteReader& in) {
  env_->LoadSnapshot(in);
  elapsed_steps_ = in.Get<int32_t>();
}

// ---- RecordEpisodeStatistics -------------------------------------------------------------

void RecordEpisodeStatistics::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, obs);
  episode_return_ = 0.0;
  episode_length_ = 0;
  episode_start_ = std::chrono::steady_clock::now();
}

StepResult RecordEpisodeStatistics::Step(const Action& action, void* obs) {
  const StepResult r = env_->Step(action, obs);
  episode_return_ += r.reward;
  ++episode_length_;
  if (r.terminated || r.truncated) {
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - episode_start_;
    Info& info = mutable_info();
    info.Set("episode.r", episode_return_);
    info.Set("episode.l", static_cast<double>(episode_length_));
    info.Set("episode.t", seconds.count());
  }
  return r;
}

void RecordEpisodeStatistics::SaveSnapshot(ByteWriter& out) const {
  env_->SaveSnapshot(out);
  out.Put(episode_return_);
  out.Put(episode_length_);
}

void RecordEpisodeStatistics::LoadSnapshot(ByteReader& in) {
  env_->LoadSnapshot(in);
  episode_return_ = in.Get<double>();
  episode_length_ = in.Get<int64_t>();
}

// ---- ClipAction / RescaleAction ------------------------------------------------------------

namespace {

const Space& RequireBox(const Env& env, const char* wrapper) {
  const Space& space = env.action_space();
  if (space.kind() != Space::Kind::kBox) {
    throw Error(std::string(wrapper) + ": expected a Box action space, got " + space.ToString());
  }
  return space;
}

}  // namespace

ClipAction::ClipAction(std::unique_ptr<Env> env) : Wrapper(std::move(env)) {
  const Space& inner = RequireBox(*env_, "ClipAction");
  space_ = Space::Box(-INFINITY, INFINITY, inner.shape(), inner.dtype());
  clipped_.resize(static_cast<size_t>(inner.num_continuous()));
}

StepResult ClipAction::Step(const Action& action, void* obs) {
  const Space& inner = env_->action_space();
  if (action.continuous.size() != clipped_.size())
    return env_->Step(action, obs);  // env reports it
  for (size_t i = 0; i < clipped_.size(); ++i) {
    clipped_[i] = std::clamp(action.continuous[i], static_cast<float>(inner.low()[i]),
                             static_cast<float>(inner.high()[i]));
    if (std::isnan(action.continuous[i])) clipped_[i] = action.continuous[i];
  }
  return env_->Step({action.discrete, clipped_}, obs);
}

RescaleAction::RescaleAction(std::unique_ptr<Env> env, double min_action, double max_action)
    : Wrapper(std::move(env)) {
  const Space& inner = RequireBox(*env_, "RescaleAction");
  if (!inner.is_bounded()) throw Error("RescaleAction: the wrapped action space must be bounded");
  if (!(min_action < max_action)) throw Error("RescaleAction: expected min_action < max_action");
  space_ = Space::Box(min_action, max_action, inner.shape(), inner.dtype());
  const auto n = static_cast<size_t>(inner.num_continuous());
  gradient_.resize(n);
  intercept_.resize(n);
  scaled_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    gradient_[i] = (inner.high()[i] - inner.low()[i]) / (max_action - min_action);
    intercept_[i] = gradient_[i] * -min_action + inner.low()[i];
  }
}

StepResult RescaleAction::Step(const Action& action, void* obs) {
  if (action.continuous.size() != scaled_.size()) return env_->Step(action, obs);
  for (size_t i = 0; i < scaled_.size(); ++i) {
    scaled_[i] = static_cast<float>(gradient_[i] * action.continuous[i] + intercept_[i]);
  }
  return env_->Step({action.discrete, scaled_}, obs);
}

// ---- running statistics --------------------------------------------------------------------

RunningMeanStd::RunningMeanStd(size_t dim, double epsilon)
    : mean(dim, 0.0), var(dim, 1.0), count(epsilon) {}

void RunningMeanStd::Update(std::span<const double> batch_mean, std::span<const double> batch_var,
                            double batch_count) {
  const double total = count + batch_count;
  for (size_t i = 0; i < mean.size(); ++i) {
    const double delta = batch_mean[i] - mean[i];
    const double m2 =
        var[i] * count + batch_var[i] * batch_count + delta * delta * count * batch_count / total;
    mean[i] = mean[i] + delta * batch_count / total;
    var[i] = m2 / total;
  }
  count = total;
}

void RunningMeanStd::UpdateOne(std::span<const double> x) {
  const double total = count + 1.0;
  for (size_t i = 0; i < mean.size(); ++i) {
    const double delta = x[i] - mean[i];
    const double m2 = var[i] * count + delta * delta * count / total;
    mean[i] = mean[i] + delta / total;
    var[i] = m2 / total;
  }
  count = total;
}

void RunningMeanStd::Save(ByteWriter& out) const {
  out.PutVector(mean);
  out.PutVector(var);
  out.Put(count);
}

void RunningMeanStd::Load(ByteReader& in) {
  auto m = in.GetVector<double>();
  auto v = in.GetVector<double>();
  if (m.size() != mean.size() || v.size() != var.size())
    throw Error("running statistics: size mismatch");
  mean = std::move(m);
  var = std::move(v);
  count = in.Get<double>();
}

// ---- NormalizeObservation / NormalizeReward ------------------------------------------------

NormalizeObservation::NormalizeObservation(std::unique_ptr<Env> env, double epsilon, double clip)
    : Wrapper(std::move(env)), epsilon_(epsilon), clip_(clip) {
  const Space& inner = env_->observation_space();
  if (inner.kind() != Space::Kind::kBox || inner.dtype() != DType::kFloat32) {
    throw Error("NormalizeObservation: expected a float32 Box observation space, got " +
                inner.ToString());
  }
  space_ = Space::Box(-INFINITY, INFINITY, inner.shape(), DType::kFloat32);
  rms_ = RunningMeanStd(static_cast<size_t>(inner.size()));
  scratch_.resize(static_cast<size_t>(inner.size()));
}

void NormalizeObservation::Normalize(float* obs) {
  for (size_t i = 0; i < scratch_.size(); ++i) scratch_[i] = obs[i];
  if (update_stats) rms_.UpdateOne(scratch_);
  for (size_t i = 0; i < scratch_.size(); ++i) {
    obs[i] = static_cast<float>(std::clamp(
        (scratch_[i] - rms_.mean[i]) / std::sqrt(rms_.var[i] + epsilon_), -clip_, clip_));
  }
}

void NormalizeObservation::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, obs);
  Normalize(static_cast<float*>(obs));
}

StepResult NormalizeObservation::Step(const Action& action, void* obs) {
  const StepResult r = env_->Step(action, obs);
  Normalize(static_cast<float*>(obs));
  return r;
}

NormalizeReward::NormalizeReward(std::unique_ptr<Env> env, double gamma, double epsilon,
                                 double clip)
    : Wrapper(std::move(env)), rms_(1), gamma_(gamma), epsilon_(epsilon), clip_(clip) {
  if (!(gamma >= 0.0 && gamma <= 1.0)) throw Error("NormalizeReward: gamma must be in [0, 1]");
}

StepResult NormalizeReward::Step(const Action& action, void* obs) {
  StepResult r = env_->Step(action, obs);
  discounted_return_ = discounted_return_ * gamma_ * (r.terminated ? 0.0 : 1.0) + r.reward;
  if (update_stats) rms_.UpdateOne(std::span<const double>(&discounted_return_, 1));
  r.reward = std::clamp(r.reward / std::sqrt(rms_.var[0] + epsilon_), -clip_, clip_);
  return r;
}

void NormalizeObservation::SaveSnapshot(ByteWriter& out) const {
  env_->SaveSnapshot(out);
  rms_.Save(out);
}

void NormalizeObservation::LoadSnapshot(ByteReader& in) {
  env_->LoadSnapshot(in);
  rms_.Load(in);
}

void NormalizeReward::SaveSnapshot(ByteWriter& out) const {
  env_->SaveSnapshot(out);
  rms_.Save(out);
  out.Put(discounted_return_);
}

void NormalizeReward::LoadSnapshot(ByteReader& in) {
  env_->LoadSnapshot(in);
  rms_.Load(in);
  discounted_return_ = in.Get<double>();
}

// ---- pixel observations --------------------------------------------------------------------

RenderObservation::RenderObservation(std::unique_ptr<Env> env) : Wrapper(std::move(env)) {
  const Image frame = env_->Render();
  space_ = Space::Box(0, 255, {frame.height, frame.width, 3}, DType::kUInt8);
  inner_obs_.resize(env_->observation_space().nbytes());
}

void RenderObservation::Observe(void* obs) const {
  const Image frame = env_->Render();
  std::memcpy(obs, frame.rgb.data(), frame.rgb.size());
}

void RenderObservation::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, inner_obs_.data());
  Observe(obs);
}

StepResult RenderObservation::Step(const Action& action, void* obs) {
  const StepResult r = env_->Step(action, inner_obs_.data());
  Observe(obs);
  return r;
}

ImageObservationWrapper::ImageObservationWrapper(std::unique_ptr<Env> env)
    : Wrapper(std::move(env)) {
  const Space& inner = env_->observation_space();
  const auto& shape = inner.shape();
  if (inner.dtype() != DType::kUInt8 || (shape.size() != 3 && shape.size() != 2)) {
    throw Error("image wrapper: expected a uint8 (H, W, C) or (H, W) observation, got " +
                inner.ToString());
  }
  in_h_ = static_cast<int>(shape[0]);
  in_w_ = static_cast<int>(shape[1]);
  in_c_ = shape.size() == 3 ? static_cast<int>(shape[2]) : 1;
  inner_obs_.resize(inner.nbytes());
}

void ImageObservationWrapper::Observe(void* obs) const {
  std::vector<uint8_t> inner(inner_obs_.size());
  env_->Observe(inner.data());
  Transform(inner.data(), static_cast<uint8_t*>(obs));
}

void ImageObservationWrapper::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, inner_obs_.data());
  Transform(inner_obs_.data(), static_cast<uint8_t*>(obs));
}

StepResult ImageObservationWrapper::Step(const Action& action, void* obs) {
  const StepResult r = env_->Step(action, inner_obs_.data());
  Transform(inner_obs_.data(), static_cast<uint8_t*>(obs));
  return r;
}

ResizeObservation::ResizeObservation(std::unique_ptr<Env> env, int height, int width)
    : ImageObservationWrapper(std::move(env)), out_h_(height), out_w_(width) {
  if (height <= 0 || width <= 0)
    throw Error("ResizeObservation: height and width must be positive");
  std::vector<int64_t> shape = {height, width};
  if (env_->observation_space().shape().size() == 3) shape.push_back(in_c_);
  space_ = Space::Box(0, 255, shape, DType::kUInt8);
}

void ResizeObservation::Transform(const uint8_t* in, uint8_t* out) const {
  // Each output pixel averages the input area it covers, with fractional edge weights.
  const double sy = static_cast<double>(in_h_) / out_h_;
  const double sx = static_cast<double>(in_w_) / out_w_;
  for (int oy = 0; oy < out_h_; ++oy) {
    const double y0 = oy * sy, y1 = std::min<double>(in_h_, y0 + std::max(sy, 1.0));
    for (int ox = 0; ox < out_w_; ++ox) {
      const double x0 = ox * sx, x1 = std::min<double>(in_w_, x0 + std::max(sx, 1.0));
      for (int c = 0; c < in_c_; ++c) {
        double sum = 0.0, area = 0.0;
        for (int y = static_cast<int>(y0); y < y1; ++y) {
          const double wy = std::min<double>(y + 1, y1) - std::max<double>(y, y0);
          for (int x = static_cast<int>(x0); x < x1; ++x) {
            const double w = wy * (std::min<double>(x + 1, x1) - std::max<double>(x, x0));
            sum += w * in[(static_cast<size_t>(y) * in_w_ + x) * in_c_ + c];
            area += w;
          }
        }
        out[(static_cast<size_t>(oy) * out_w_ + ox) * in_c_ + c] =
            static_cast<uint8_t>(std::lround(std::clamp(sum / area, 0.0, 255.0)));
      }
    }
  }
}

GrayScale::GrayScale(std::unique_ptr<Env> env, bool keep_dim)
    : ImageObservationWrapper(std::move(env)) {
  if (in_c_ != 3) throw Error("GrayScale: expected an RGB (H, W, 3) observation");
  std::vector<int64_t> shape = {in_h_, in_w_};
  if (keep_dim) shape.push_back(1);
  space_ = Space::Box(0, 255, shape, DType::kUInt8);
}

void GrayScale::Transform(const uint8_t* in, uint8_t* out) const {
  const size_t pixels = static_cast<size_t>(in_h_) * in_w_;
  for (size_t p = 0; p < pixels; ++p) {
    const uint8_t* rgb = in + 3 * p;
    out[p] = static_cast<uint8_t>(0.2125 * rgb[0] + 0.7154 * rgb[1] + 0.0721 * rgb[2]);
  }
}

// ---- FrameStack ----------------------------------------------------------------------------

FrameStack::FrameStack(std::unique_ptr<Env> env, int k) : Wrapper(std::move(env)), k_(k) {
  if (k <= 0) throw Error("FrameStack: k must be positive, got " + std::to_string(k));
  const Space& inner = env_->observation_space();
  if (inner.kind() != Space::Kind::kBox)
    throw Error("FrameStack: expected a Box observation space");
  std::vector<int64_t> shape = {k};
  shape.insert(shape.end(), inner.shape().begin(), inner.shape().end());
  std::vector<double> low, high;
  for (int i = 0; i < k; ++i) {
    low.insert(low.end(), inner.low().begin(), inner.low().end());
    high.insert(high.end(), inner.high().begin(), inner.high().end());
  }
  space_ = Space::Box(std::move(low), std::move(high), shape, inner.dtype());
  frame_bytes_ = inner.nbytes();
  frames_.resize(frame_bytes_ * static_cast<size_t>(k));
}

void FrameStack::Emit(void* obs) const {
  // oldest frame first: slots newest+1, ..., newest (mod k)
  auto* out = static_cast<uint8_t*>(obs);
  for (int i = 0; i < k_; ++i) {
    const int slot = (newest_ + 1 + i) % k_;
    std::memcpy(out + static_cast<size_t>(i) * frame_bytes_, frames_.data() + slot * frame_bytes_,
                frame_bytes_);
  }
}

void FrameStack::Reset(std::optional<uint64_t> seed, void* obs) {
  env_->Reset(seed, frames_.data());
  for (int i = 1; i < k_; ++i)
    std::memcpy(frames_.data() + i * frame_bytes_, frames_.data(), frame_bytes_);
  newest_ = 0;
  Emit(obs);
}

StepResult FrameStack::Step(const Action& action, void* obs) {
  const int slot = (newest_ + 1) % k_;  // the oldest frame's slot
  const StepResult r = env_->Step(action, frames_.data() + slot * frame_bytes_);
  newest_ = slot;
  Emit(obs);
  return r;
}

}  // namespace rlforge::env
