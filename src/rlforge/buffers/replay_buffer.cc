#include "rlforge/buffers/replay_buffer.h"

#include <algorithm>
#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::buffers {
namespace {

std::vector<FieldSpec> ReplayFields(const ReplaySpec& s) {
  if (s.obs_dim <= 0) throw Error("replay buffer: obs_dim must be positive");
  if (s.num_discrete + s.num_continuous <= 0)
    throw Error("replay buffer: the action needs at least one element");
  std::vector<FieldSpec> f = {{"obs", Scope::kPerAgent, {s.obs_dim}, DType::kFloat32},
                              {"next_obs", Scope::kPerAgent, {s.obs_dim}, DType::kFloat32}};
  if (s.num_discrete > 0)
    f.push_back({"discrete_actions", Scope::kPerAgent, {s.num_discrete}, DType::kInt64});
  if (s.num_continuous > 0)
    f.push_back({"continuous_actions", Scope::kPerAgent, {s.num_continuous}, DType::kFloat32});
  f.push_back({"rewards", Scope::kPerAgent, {}, DType::kFloat32});
  f.push_back({"env_terminated", Scope::kPerAgent, {}, DType::kUInt8});
  f.push_back({"env_truncated", Scope::kPerAgent, {}, DType::kUInt8});
  return f;
}

int64_t PerEnvCapacity(const ReplaySpec& s) {
  if (s.num_envs <= 0) throw Error("replay buffer: num_envs must be positive");
  if (s.capacity < s.num_envs) throw Error("replay buffer: capacity must be at least num_envs");
  if (s.n_step < 1) throw Error("replay buffer: n_step must be >= 1");
  return s.capacity / s.num_envs;
}

}  // namespace

ReplayBuffer::ReplayBuffer(const ReplaySpec& spec, uint64_t seed)
    : spec_(spec), storage_(PerEnvCapacity(spec), spec.num_envs, ReplayFields(spec), seed) {
  obs_ = storage_.FieldId("obs");
  next_obs_ = storage_.FieldId("next_obs");
  if (spec.num_discrete > 0) discrete_ = storage_.FieldId("discrete_actions");
  if (spec.num_continuous > 0) continuous_ = storage_.FieldId("continuous_actions");
  reward_ = storage_.FieldId("rewards");
  terminated_ = storage_.FieldId("env_terminated");
  truncated_ = storage_.FieldId("env_truncated");
}

void ReplayBuffer::Add(std::span<const float> obs, std::span<const float> next_obs,
                       std::span<const int64_t> discrete, std::span<const float> continuous,
                       std::span<const float> rewards, std::span<const uint8_t> terminated,
                       std::span<const uint8_t> truncated) {
  storage_.Set(obs_, obs);
  storage_.Set(next_obs_, next_obs);
  if (discrete_ >= 0) storage_.Set(discrete_, discrete);
  if (continuous_ >= 0) storage_.Set(continuous_, continuous);
  storage_.Set(reward_, rewards);
  storage_.Set(terminated_, terminated);
  storage_.Set(truncated_, truncated);
  storage_.SaveTransition(false, false);  // episodes are per env here, kept in the env_* flags
}

void ReplayBuffer::Relabel(
    int64_t chunk, const std::function<void(const float*, const float*, int64_t, float*)>& fn) {
  if (continuous_ < 0) throw Error("replay buffer: relabeling needs continuous actions");
  if (chunk < 1) throw Error("replay buffer: relabel chunk must be positive");
  const int64_t rows = storage_.size(), n = spec_.num_envs, total = rows * n;
  const size_t obs_bytes = spec_.obs_dim * sizeof(float);
  const size_t act_bytes = spec_.num_continuous * sizeof(float);
  std::vector<float> obs(static_cast<size_t>(chunk * spec_.obs_dim)),
      actions(static_cast<size_t>(chunk * spec_.num_continuous)), rewards(chunk);
  for (int64_t begin = 0; begin < total; begin += chunk) {
    const int64_t count = std::min(chunk, total - begin);
    for (int64_t k = 0; k < count; ++k) {  // transition k: ring row (begin + k) / n, env % n
      const int64_t row = (begin + k) / n;
      const int env = static_cast<int>((begin + k) % n);
      std::memcpy(obs.data() + k * spec_.obs_dim, storage_.At(obs_, env, row), obs_bytes);
      std::memcpy(actions.data() + k * spec_.num_continuous, storage_.At(continuous_, env, row),
                  act_bytes);
    }
    fn(obs.data(), actions.data(), count, rewards.data());
    for (int64_t k = 0; k < count; ++k) {
      std::memcpy(storage_.MutableAt(reward_, static_cast<int>((begin + k) % n), (begin + k) / n),
                  &rewards[k], sizeof(float));
    }
  }
}

void ReplayBuffer::ScaleRewards(float factor) {
  for (int64_t row = 0; row < storage_.size(); ++row) {
    for (int env = 0; env < spec_.num_envs; ++env) {
      float r;
      std::memcpy(&r, storage_.At(reward_, env, row), sizeof r);
      r *= factor;
      std::memcpy(storage_.MutableAt(reward_, env, row), &r, sizeof r);
    }
  }
}

void ReplayBuffer::PrepareOutput(int64_t batch, Batch* out) const {
  // a batch already laid out for this buffer and size is reused as is (no allocation per sample)
  const size_t fields = 4 + (discrete_ >= 0 ? 1 : 0) + (continuous_ >= 0 ? 1 : 0);
  if (out->fields.size() == fields && out->fields[0].name == "obs" &&
      out->fields[0].shape.size() == 2 && out->fields[0].shape[0] == batch &&
      out->fields[0].shape[1] == spec_.obs_dim && out->fields.back().name == "discounts" &&
      out->indices.size() == static_cast<size_t>(batch)) {
    return;
  }
  std::vector<std::pair<std::string, std::pair<DType, int64_t>>> layout = {
      {"obs", {DType::kFloat32, spec_.obs_dim}}, {"next_obs", {DType::kFloat32, spec_.obs_dim}}};
  if (discrete_ >= 0) layout.push_back({"discrete_actions", {DType::kInt64, spec_.num_discrete}});
  if (continuous_ >= 0)
    layout.push_back({"continuous_actions", {DType::kFloat32, spec_.num_continuous}});
  layout.push_back({"rewards", {DType::kFloat32, 0}});
  layout.push_back({"discounts", {DType::kFloat32, 0}});
  out->fields.resize(layout.size());
  for (size_t i = 0; i < layout.size(); ++i) {
    out->fields[i].name = layout[i].first;
    const auto [dtype, width] = layout[i].second;
    out->fields[i].Resize(
        dtype, width > 0 ? std::vector<int64_t>{batch, width} : std::vector<int64_t>{batch});
  }
  out->indices.resize(static_cast<size_t>(batch));
}

void ReplayBuffer::Sample(int64_t batch, Batch* out) {
  const int64_t stored = storage_.size();  // steps per env
  if (stored == 0) throw Error("replay buffer: sample called before any transition was added");
  if (batch <= 0) throw Error("replay buffer: batch must be positive");
  const int64_t T = storage_.capacity(), N = spec_.num_envs;
  const int64_t oldest = storage_.total_steps() - stored;  // logical step of the oldest row
  PrepareOutput(batch, out);
  float* out_rewards = (*out)["rewards"].as<float>();
  float* out_discounts = (*out)["discounts"].as<float>();
  float* out_obs = (*out)["obs"].as<float>();
  float* out_next_obs = (*out)["next_obs"].as<float>();
  int64_t* out_discrete = discrete_ >= 0 ? (*out)["discrete_actions"].as<int64_t>() : nullptr;
  float* out_continuous = continuous_ >= 0 ? (*out)["continuous_actions"].as<float>() : nullptr;
  const size_t obs_bytes = static_cast<size_t>(spec_.obs_dim) * sizeof(float);
  const size_t discrete_bytes = static_cast<size_t>(spec_.num_discrete) * sizeof(int64_t);
  const size_t continuous_bytes = static_cast<size_t>(spec_.num_continuous) * sizeof(float);
  for (int64_t b = 0; b < batch; ++b) {
    const auto env = static_cast<int>(N == 1 ? 0 : storage_.rng().Integers(N));
    const int64_t logical = oldest + storage_.rng().Integers(stored);
    const int64_t row = logical % T;
    out->indices[b] = env * T + row;
    // n-step sum along this env's stream, stopping at an episode end or the newest step
    float ret = 0.0f, discount = 1.0f;
    int64_t last = row;
    bool terminal = false;
    for (int k = 0; k < spec_.n_step && logical + k < storage_.total_steps(); ++k) {
      const int64_t r = (logical + k) % T;
      float reward;
      std::memcpy(&reward, storage_.At(reward_, env, r), sizeof(reward));
      ret += discount * reward;
      discount *= spec_.gamma;
      last = r;
      if (*storage_.At(terminated_, env, r)) {
        terminal = true;
        break;
      }
      if (*storage_.At(truncated_, env, r)) break;
    }
    out_rewards[b] = ret;
    out_discounts[b] = terminal ? 0.0f : discount;
    std::memcpy(out_obs + b * spec_.obs_dim, storage_.At(obs_, env, row), obs_bytes);
    std::memcpy(out_next_obs + b * spec_.obs_dim, storage_.At(next_obs_, env, last), obs_bytes);
    if (out_discrete != nullptr) {
      std::memcpy(out_discrete + b * spec_.num_discrete, storage_.At(discrete_, env, row),
                  discrete_bytes);
    }
    if (out_continuous != nullptr) {
      std::memcpy(out_continuous + b * spec_.num_continuous, storage_.At(continuous_, env, row),
                  continuous_bytes);
    }
  }
}

}  // namespace rlforge::buffers
