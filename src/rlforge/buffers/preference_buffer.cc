#include "rlforge/buffers/preference_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "rlforge/core/error.h"

namespace rlforge::buffers {
namespace {

std::vector<FieldSpec> PreferenceFields(const SegmentSpec& s) {
  if (s.length <= 0 || s.obs_dim <= 0 || s.act_dim <= 0 || s.state_dim < 0) {
    throw Error("preference buffer: length, obs_dim and act_dim must be positive");
  }
  std::vector<FieldSpec> f = {
      {"obs", Scope::kPerAgent, {s.length, s.obs_dim}, DType::kFloat32},
      {"actions", Scope::kPerAgent, {s.length, s.act_dim}, DType::kFloat32}};
  if (s.state_dim > 0)
    f.push_back({"states", Scope::kPerAgent, {s.length, s.state_dim}, DType::kFloat64});
  f.push_back({"label", Scope::kGlobal, {}, DType::kFloat32});
  return f;
}

}  // namespace

PreferenceBuffer::PreferenceBuffer(int64_t capacity, const SegmentSpec& spec,
                                   double validation_fraction, uint64_t seed)
    : storage_(capacity, 2, PreferenceFields(spec), seed),
      spec_(spec),
      validation_fraction_(validation_fraction) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
    throw Error("preference buffer: validation_fraction must be in [0, 1)");
  }
  label_ = storage_.FieldId("label");
}

void PreferenceBuffer::Add(std::span<const float> obs, std::span<const float> actions,
                           std::span<const double> states, float label) {
  if (!(label == 0.0f || label == 0.5f || label == 1.0f || label == kSkip)) {
    throw Error("preference label: expected 0, 0.5, 1 or skip, got " + std::to_string(label));
  }
  storage_.Set("obs", obs);
  storage_.Set("actions", actions);
  if (spec_.state_dim > 0) storage_.Set("states", states);
  storage_.Set(label_, std::span<const float>(&label, 1));
  storage_.SaveTransition(false, false);
}

std::vector<int64_t> PreferenceBuffer::Rows(Split split) const {
  // rows from oldest to newest
  const int64_t n = storage_.size(), T = storage_.capacity();
  const int64_t oldest = storage_.total_steps() - n;

  std::vector<int64_t> labelled;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = (oldest + i) % T;
    float label;
    std::memcpy(&label, storage_.At(label_, 0, row), sizeof(label));
    if (label != kSkip) labelled.push_back(row);
  }
  const auto n_val =
      static_cast<int64_t>(std::floor(validation_fraction_ * static_cast<double>(labelled.size())));
  const auto cut = labelled.end() - n_val;
  if (split == Split::kTrain) return {labelled.begin(), cut};
  if (split == Split::kValidation) return {cut, labelled.end()};
  return labelled;
}

int64_t PreferenceBuffer::num_labelled() const {
  return static_cast<int64_t>(Rows(Split::kAll).size());
}

void PreferenceBuffer::Sample(int64_t batch, Split split, Batch* out) {
  std::vector<int64_t> rows = Rows(split);
  if (rows.empty()) throw Error("preference buffer: no labelled items to sample");
  const int64_t b = std::min<int64_t>(batch, static_cast<int64_t>(rows.size()));
  for (int64_t i = 0; i < b; ++i)
    std::swap(rows[i], rows[i + storage_.rng().Integers(static_cast<int64_t>(rows.size()) - i)]);
  rows.resize(static_cast<size_t>(b));
  storage_.SampleTransitions(rows, out);
}

}  // namespace rlforge::buffers
