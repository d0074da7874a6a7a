// SequenceBuffer for DreamerV3: per-env streams of steps on FlexibleBuffer storage (env = agent),
// sampled as B sequences of L consecutive steps. Every step stores is_first (first step of an
// episode) and is_terminal, so a sequence that runs into a new episode marks where it starts.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "rlforge/buffers/flexible_buffer.h"

namespace rlforge::buffers {

class SequenceBuffer {
 public:
  // step_fields: per-step data (scope is ignored: every field is per env). is_first and
  // is_terminal (uint8) are added.
  SequenceBuffer(int64_t capacity_per_env, int num_envs, std::vector<FieldSpec> step_fields,
                 uint64_t seed = 0);

  // Stage every step field for all envs (N x shape), then Add the flags.
  template <typename T>
  void Set(std::string_view name, std::span<const T> values) {
    storage_.Set(storage_.FieldId(name), values);
  }
  void Add(std::span<const uint8_t> is_first, std::span<const uint8_t> is_terminal);

  // B sequences of L steps: each field (B x L x shape), plus is_first and is_terminal (B x L);
  // envs and starts drawn with the buffer's generator, or with `rng` (which leaves it alone).
  void Sample(int64_t batch, int64_t length, Batch* out) {
    Sample(batch, length, out, storage_.rng());
  }
  void Sample(int64_t batch, int64_t length, Batch* out, Rng& rng);

  int64_t steps_per_env() const { return storage_.size(); }
  void Save(const std::string& dir) const { storage_.Save(dir); }
  void LoadInto(const std::string& dir) { storage_.LoadInto(dir); }

 private:
  FlexibleBuffer storage_;
  int is_first_, is_terminal_;
};

}  // namespace rlforge::buffers
