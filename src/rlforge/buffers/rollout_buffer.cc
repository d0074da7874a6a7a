#include "rlforge/buffers/rollout_buffer.h"

#include <algorithm>
#include <cstring>

#include "rlforge/buffers/returns.h"
#include "rlforge/core/error.h"

namespace rlforge::buffers {
namespace {

template <typename T>
void Append(std::vector<T>& dst, int64_t step, std::span<const T> src, size_t width,
            const char* name) {
  if (src.size() != width) {
    throw Error(std::string("rollout buffer: '") + name + "' expects " + std::to_string(width) +
                " values, got " + std::to_string(src.size()));
  }
  std::copy(src.begin(), src.end(), dst.begin() + static_cast<ptrdiff_t>(step * width));
}

}  // namespace

RolloutBuffer::RolloutBuffer(int64_t num_steps, int num_envs, int64_t obs_dim, int64_t num_discrete,
                             int64_t num_continuous)
    : num_steps_(num_steps),
      num_envs_(num_envs),
      obs_dim_(obs_dim),
      num_discrete_(num_discrete),
      num_continuous_(num_continuous) {
  if (num_steps <= 0 || num_envs <= 0 || obs_dim <= 0 || num_discrete < 0 || num_continuous < 0) {
    throw Error("rollout buffer: num_steps, num_envs and obs_dim must be positive");
  }
  const auto tn = static_cast<size_t>(num_steps * num_envs);
  obs_.resize(tn * obs_dim);
  discrete_.resize(tn * num_discrete);
  continuous_.resize(tn * num_continuous);
  for (auto* v : {&log_probs_, &values_, &rewards_, &final_values_, &advantages_, &returns_})
    v->resize(tn);
  terminated_.resize(tn);
  truncated_.resize(tn);
}

void RolloutBuffer::Add(std::span<const float> obs, std::span<const int64_t> discrete,
                        std::span<const float> continuous, std::span<const float> log_probs,
                        std::span<const float> values, std::span<const float> rewards,
                        std::span<const uint8_t> terminated, std::span<const uint8_t> truncated,
                        std::span<const float> final_values) {
  if (full()) throw Error("rollout buffer: full; compute returns and Reset() first");
  const auto n = static_cast<size_t>(num_envs_);
  Append(obs_, step_, obs, n * obs_dim_, "obs");
  Append(discrete_, step_, discrete, n * num_discrete_, "discrete_actions");
  Append(continuous_, step_, continuous, n * num_continuous_, "continuous_actions");
  Append(log_probs_, step_, log_probs, n, "log_probs");
  Append(values_, step_, values, n, "values");
  Append(rewards_, step_, rewards, n, "rewards");
  Append(terminated_, step_, terminated, n, "terminated");
  Append(truncated_, step_, truncated, n, "truncated");
  Append(final_values_, step_, final_values, n, "final_values");
  ++step_;
}

void RolloutBuffer::ComputeReturnsAndAdvantages(std::span<const float> last_values, float gamma,
                                                float lambda) {
  if (static_cast<int>(last_values.size()) != num_envs_)
    throw Error("rollout buffer: last_values needs one value per env");
  const size_t used = static_cast<size_t>(step_ * num_envs_);
  for (int e = 0; e < num_envs_; ++e) {
    // column e of the (T x N) arrays, as a stream with stride N
    const auto col = [&](auto& v) { return std::span(v.data() + e, used - e); };
    const Stream s{col(rewards_), col(terminated_), col(truncated_), col(final_values_), num_envs_};
    Gae(s, col(values_), last_values[e], gamma, lambda, col(advantages_), col(returns_));
  }
}

void RolloutBuffer::Minibatch(std::span<const int64_t> rows, Batch* out) const {
  const auto b = static_cast<int64_t>(rows.size());
  const int64_t total = step_ * num_envs_;
  out->fields.resize(7);
  const char* names[7] = {"obs",       "discrete_actions", "continuous_actions",
                          "log_probs", "values",           "advantages",
                          "returns"};
  out->fields[0].Resize(DType::kFloat32, {b, obs_dim_});
  out->fields[1].Resize(DType::kInt64, {b, num_discrete_});
  out->fields[2].Resize(DType::kFloat32, {b, num_continuous_});
  for (int i = 3; i < 7; ++i) out->fields[i].Resize(DType::kFloat32, {b});
  for (int i = 0; i < 7; ++i) out->fields[i].name = names[i];
  const std::vector<const std::vector<float>*> scalars = {&log_probs_, &values_, &advantages_,
                                                          &returns_};
  for (int64_t k = 0; k < b; ++k) {
    const int64_t r = rows[k];
    if (r < 0 || r >= total)
      throw Error("rollout buffer: row " + std::to_string(r) + " is out of range");
    std::memcpy(out->fields[0].as<float>() + k * obs_dim_, obs_.data() + r * obs_dim_,
                obs_dim_ * sizeof(float));
    if (num_discrete_ > 0)  // (an empty field's pointers may be null)
      std::memcpy(out->fields[1].as<int64_t>() + k * num_discrete_,
                  discrete_.data() + r * num_discrete_, num_discrete_ * sizeof(int64_t));
    if (num_continuous_ > 0)
      std::memcpy(out->fields[2].as<float>() + k * num_continuous_,
                  continuous_.data() + r * num_continuous_, num_continuous_ * sizeof(float));
    for (size_t s = 0; s < scalars.size(); ++s)
      out->fields[3 + s].as<float>()[k] = (*scalars[s])[r];
  }
  out->indices.assign(rows.begin(), rows.end());
}

}  // namespace rlforge::buffers
