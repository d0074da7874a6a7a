// Wrappers with Gymnasium semantics. Each owns the env it wraps and forwards what it does not
// change.
#pragma once

#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "rlforge/env/env.h"

namespace rlforge::env {

class Wrapper : public Env {
 public:
  explicit Wrapper(std::unique_ptr<Env> env);

  const Space& observation_space() const override { return env_->observation_space(); }
  const Space& action_space() const override { return env_->action_space(); }
  void Reset(std::optional<uint64_t> seed, void* obs) override { env_->Reset(seed, obs); }
  StepResult Step(const Action& action, void* obs) override { return env_->Step(action, obs); }
  void Observe(void* obs) const override { env_->Observe(obs); }
  Image Render() const override { return env_->Render(); }
  std::vector<double> GetState() const override { return env_->GetState(); }
  void SetState(std::span<const double> state) override { env_->SetState(state); }
  const Info& info() const override { return env_->info(); }
  Info& mutable_info() override { return env_->mutable_info(); }
  Env* Unwrapped() override { return env_->Unwrapped(); }
  void SaveSnapshot(ByteWriter& out) const override { env_->SaveSnapshot(out); }
  void LoadSnapshot(ByteReader& in) override { env_->LoadSnapshot(in); }

  Env* inner() { return env_.get(); }

 protected:
  std::unique_ptr<Env> env_;
};

// Finds a wrapper of type T in the chain starting at `env`, or nullptr.
template <typename T>
T* FindWrapper(Env* env) {
  while (env != nullptr) {
    if (auto* found = dynamic_cast<T*>(env)) return found;
    auto* wrapper = dynamic_cast<Wrapper*>(env);
    env = wrapper != nullptr ? wrapper->inner() : nullptr;
  }
  return nullptr;
}

// truncated = true once `max_episode_steps` steps have been taken since reset.
class TimeLimit : public Wrapper {
 public:
  TimeLimit(std::unique_ptr<Env> env, int max_episode_steps);
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void SetState(std::span<const double> state) override;
  void SaveSnapshot(ByteWriter& out) const override;
  void LoadSnapshot(ByteReader& in) override;

  int elapsed_steps() const { return elapsed_steps_; }
  void set_elapsed_steps(int steps) { elapsed_steps_ = steps; }
  int max_episode_steps() const { return max_episode_steps_; }

 private:
  int max_episode_steps_;
  int elapsed_steps_ = 0;
};

// At the end of an episode, info gets episode.r (return), episode.l (length), episode.t (seconds).
class RecordEpisodeStatistics : public Wrapper {
 public:
  using Wrapper::Wrapper;
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void SaveSnapshot(ByteWriter& out) const override;
  void LoadSnapshot(ByteReader& in) override;

 private:
  double episode_return_ = 0.0;
  int64_t episode_length_ = 0;
  std::chrono::steady_clock::time_point episode_start_;
};

// Clips Box actions to the wrapped env's bounds; the exposed action space is unbounded.
class ClipAction : public Wrapper {
 public:
  explicit ClipAction(std::unique_ptr<Env> env);
  const Space& action_space() const override { return space_; }
  StepResult Step(const Action& action, void* obs) override;

 private:
  Space space_;
  std::vector<float> clipped_;  // clipped action   (num_continuous)
};

// Affinely maps actions from [min_action, max_action] to the wrapped env's Box bounds.
class RescaleAction : public Wrapper {
 public:
  RescaleAction(std::unique_ptr<Env> env, double min_action, double max_action);
  const Space& action_space() const override { return space_; }
  StepResult Step(const Action& action, void* obs) override;

 private:
  Space space_;
  std::vector<double> gradient_;   // d(env action)/d(action)   (num_continuous)
  std::vector<double> intercept_;  // env action at action = 0  (num_continuous)
  std::vector<float> scaled_;      // rescaled action           (num_continuous)
};

// Running mean and variance over batches (Chan et al.), as Gymnasium's RunningMeanStd.
struct RunningMeanStd {
  explicit RunningMeanStd(size_t dim = 1, double epsilon = 1e-4);
  void Update(std::span<const double> batch_mean, std::span<const double> batch_var,
              double batch_count);
  void UpdateOne(std::span<const double> x);  // a batch of one sample
  void Save(ByteWriter& out) const;
  void Load(ByteReader& in);

  std::vector<double> mean;  // running mean       (dim)
  std::vector<double> var;   // running variance   (dim)
  double count;              // samples seen (starts at epsilon)
};

// obs <- clip((obs - mean) / sqrt(var + epsilon), -clip, clip), statistics updated on every
// observation (CleanRL adds the clip as a separate wrapper).
class NormalizeObservation : public Wrapper {
 public:
  explicit NormalizeObservation(std::unique_ptr<Env> env, double epsilon = 1e-8,
                                double clip = INFINITY);
  const Space& observation_space() const override { return space_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void SaveSnapshot(ByteWriter& out) const override;
  void LoadSnapshot(ByteReader& in) override;

  RunningMeanStd& stats() { return rms_; }
  bool update_stats = true;  // freeze for evaluation

 private:
  void Normalize(float* obs);
  Space space_;
  RunningMeanStd rms_;
  double epsilon_, clip_;
  std::vector<double> scratch_;  // observation as float64   (obs_dim)
};

// reward <- clip(reward / sqrt(var(discounted return) + epsilon), -clip, clip).
class NormalizeReward : public Wrapper {
 public:
  NormalizeReward(std::unique_ptr<Env> env, double gamma = 0.99, double epsilon = 1e-8,
                  double clip = INFINITY);
  StepResult Step(const Action& action, void* obs) override;
  void SaveSnapshot(ByteWriter& out) const override;
  void LoadSnapshot(ByteReader& in) override;

  RunningMeanStd& stats() { return rms_; }
  double discounted_return() const { return discounted_return_; }
  void set_discounted_return(double v) { discounted_return_ = v; }
  bool update_stats = true;

 private:
  RunningMeanStd rms_;
  double gamma_;
  double epsilon_, clip_;
  double discounted_return_ = 0.0;
};

// The observation becomes the rendered RGB frame (Box(0, 255, (H, W, 3), uint8)).
class RenderObservation : public Wrapper {
 public:
  explicit RenderObservation(std::unique_ptr<Env> env);
  const Space& observation_space() const override { return space_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void Observe(void* obs) const override;

 private:
  Space space_;
  std::vector<uint8_t> inner_obs_;  // wrapped env's observation   (inner nbytes)
};

// Base for wrappers that transform a uint8 image observation (H x W x C) into another.
class ImageObservationWrapper : public Wrapper {
 public:
  const Space& observation_space() const override { return space_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;
  void Observe(void* obs) const override;

 protected:
  explicit ImageObservationWrapper(std::unique_ptr<Env> env);
  virtual void Transform(const uint8_t* in, uint8_t* out) const = 0;
  int in_h_ = 0, in_w_ = 0, in_c_ = 0;  // wrapped image shape
  Space space_;
  std::vector<uint8_t> inner_obs_;  // wrapped env's observation   (in_h x in_w x in_c)
};

// Resizes by area averaging (cv2.INTER_AREA for shrinking).
class ResizeObservation : public ImageObservationWrapper {
 public:
  ResizeObservation(std::unique_ptr<Env> env, int height, int width);

 private:
  void Transform(const uint8_t* in, uint8_t* out) const override;
  int out_h_, out_w_;
};

// Luminance 0.2125 R + 0.7154 G + 0.0721 B, truncated to uint8 (Gymnasium's GrayscaleObservation).
class GrayScale : public ImageObservationWrapper {
 public:
  explicit GrayScale(std::unique_ptr<Env> env, bool keep_dim = false);

 private:
  void Transform(const uint8_t* in, uint8_t* out) const override;
};

// Stacks the last k observations along a new leading axis; reset fills all k with the first.
class FrameStack : public Wrapper {
 public:
  FrameStack(std::unique_ptr<Env> env, int k);
  const Space& observation_space() const override { return space_; }
  void Reset(std::optional<uint64_t> seed, void* obs) override;
  StepResult Step(const Action& action, void* obs) override;

 private:
  int k_;
  size_t frame_bytes_;
  Space space_;
  std::vector<uint8_t> frames_;  // ring of frames, oldest first after rotation   (k x frame_bytes)
  int newest_ = 0;
  void Emit(void* obs) const;
};

}  // namespace rlforge::env
