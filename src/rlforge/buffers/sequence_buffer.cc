#include "rlforge/buffers/sequence_buffer.h"

#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::buffers {
namespace {

std::vector<FieldSpec> WithFlags(std::vector<FieldSpec> fields) {
  for (auto& f : fields) f.scope = Scope::kPerAgent;
  fields.push_back({"is_first", Scope::kPerAgent, {}, DType::kUInt8});
  fields.push_back({"is_terminal", Scope::kPerAgent, {}, DType::kUInt8});
  return fields;
}

}  // namespace

SequenceBuffer::SequenceBuffer(int64_t capacity_per_env, int num_envs,
                               std::vector<FieldSpec> step_fields, uint64_t seed)
    : storage_(capacity_per_env, num_envs, WithFlags(std::move(step_fields)), seed) {
  is_first_ = storage_.FieldId("is_first");
  is_terminal_ = storage_.FieldId("is_terminal");
}

void SequenceBuffer::Add(std::span<const uint8_t> is_first, std::span<const uint8_t> is_terminal) {
  storage_.Set(is_first_, is_first);
  storage_.Set(is_terminal_, is_terminal);
  storage_.SaveTransition(false, false);  // episodes live in the per-env flags
}

void SequenceBuffer::Sample(int64_t batch, int64_t length, Batch* out, Rng& rng) {
  const int64_t stored = storage_.size(), T = storage_.capacity();
  if (batch <= 0 || length <= 0) throw Error("sequence buffer: batch and length must be positive");
  if (stored < length) {
    throw Error("sequence buffer: " + std::to_string(stored) +
                " steps per env stored, fewer than length " + std::to_string(length));
  }
  const auto& fields = storage_.fields();
  out->fields.resize(fields.size() -
                     2);  // the global terminated/truncated of the storage are left out
  std::vector<int> ids;
  for (size_t i = 0, k = 0; i < fields.size(); ++i) {
    if (fields[i].scope == Scope::kGlobal) continue;
    std::vector<int64_t> shape = {batch, length};
    shape.insert(shape.end(), fields[i].shape.begin(), fields[i].shape.end());
    out->fields[k].name = fields[i].name;
    out->fields[k].Resize(fields[i].dtype, std::move(shape));
    ids.push_back(static_cast<int>(i));
    ++k;
  }
  out->indices.resize(static_cast<size_t>(batch));
  const int64_t oldest = storage_.total_steps() - stored;
  const int64_t n_envs = storage_.n_agents();
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t env = rng.Integers(n_envs);
    const int64_t start = oldest + rng.Integers(stored - length + 1);
    out->indices[b] = env * T + start % T;
    for (size_t k = 0; k < ids.size(); ++k) {
      const size_t rb = fields[ids[k]].row_bytes();
      uint8_t* dst = out->fields[k].data.data() + static_cast<size_t>(b * length) * rb;
      for (int64_t t = 0; t < length; ++t) {
        std::memcpy(dst + t * rb, storage_.At(ids[k], static_cast<int>(env), (start + t) % T), rb);
      }
    }
  }
}

}  // namespace rlforge::buffers
