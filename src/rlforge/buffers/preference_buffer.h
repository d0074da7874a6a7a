// PreferenceBuffer for PEBBLE: labelled pairs of trajectory segments, FIFO, on FlexibleBuffer
// storage (agent 0 = segment 0, agent 1 = segment 1). Each segment keeps its observations, actions
// and the simulator state of every step, so it can be re-rendered later.
// Labels: 0 = segment 0 preferred, 1 = segment 1, 0.5 = equally good, kSkip = no preference.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "rlforge/buffers/flexible_buffer.h"

namespace rlforge::buffers {

struct SegmentSpec {
  int64_t length = 50;  // steps per segment
  int64_t obs_dim = 0;
  int64_t act_dim = 0;
  int64_t state_dim = 0;  // simulator state per step (0 = none)
};

class PreferenceBuffer {
 public:
  static constexpr float kSkip = -1.0f;
  enum class Split { kTrain, kValidation, kAll };

  PreferenceBuffer(int64_t capacity, const SegmentSpec& spec, double validation_fraction = 0.0,
                   uint64_t seed = 0);

  // Segment arrays are (2 x length x dim): segment 0 then segment 1.
  void Add(std::span<const float> obs, std::span<const float> actions,
           std::span<const double> states, float label);

  // Rows of labelled (non-skip) items in a split; validation = the most recent fraction.
  std::vector<int64_t> Rows(Split split) const;
  // `batch` distinct labelled items of a split: obs (2 x B x L x obs_dim), actions, states, label
  // (B).
  void Sample(int64_t batch, Split split, Batch* out);
  void Gather(std::span<const int64_t> rows, Batch* out) { storage_.SampleTransitions(rows, out); }

  int64_t size() const { return storage_.size(); }
  int64_t num_labelled() const;
  void Save(const std::string& dir) const { storage_.Save(dir); }
  void LoadInto(const std::string& dir) { storage_.LoadInto(dir); }

 private:
  FlexibleBuffer storage_;
  SegmentSpec spec_;
  double validation_fraction_;
  int label_;
};

}  // namespace rlforge::buffers
