// FlexibleBuffer: Flexibuff's multi-agent replay store in C++, schema-driven.
//
// Storage for N agents x T steps, allocated up front and ring-wrapped. Every field is registered
// with a name, a scope (global: T x shape, or per agent: N x T x shape) and a dtype. One
// transition is written for all agents at once: Set() every field, then SaveTransition().
// `terminated` and `truncated` are always stored (separately); an episode ends at either.
//
//   FlexibleBuffer buf(100'000, /*n_agents=*/1, StandardFields{.obs_size = 4, ...});
//   buf.Set("obs", obs); ...; buf.SaveTransition(terminated, truncated);
//   buf.SampleTransitions(256, /*weighted=*/false, &batch);   // N x B x ... and B x ...
//   buf.SampleEpisodes(1024, /*n_episodes=*/0, &episodes);   // whole episodes, time order
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlforge/buffers/batch.h"
#include "rlforge/buffers/sum_tree.h"
#include "rlforge/core/huge_array.h"
#include "rlforge/core/rng.h"
#include "rlforge/core/spaces.h"
#include "rlforge/io/npy.h"

namespace rlforge::buffers {

enum class Scope { kGlobal, kPerAgent };

struct FieldSpec {
  std::string name;
  Scope scope = Scope::kGlobal;
  std::vector<int64_t> shape;  // per step (and agent); {} = scalar
  DType dtype = DType::kFloat32;

  int64_t elements() const;  // values per step (and agent)
  size_t row_bytes() const { return static_cast<size_t>(elements()) * DTypeSize(dtype); }
  bool operator==(const FieldSpec&) const = default;
};

// Flexibuff v0.1.5's constructor flags, turned into registered fields with its names:
// obs/obs_, state/state_, discrete_actions, continuous_actions, discrete_log_probs,
// continuous_log_probs, global_rewards, global_auxiliary_rewards, individual_rewards,
// individual_auxiliary_rewards, action_mask{i}/action_mask_{i}, memory_weights.
struct StandardFields {
  int64_t obs_size = 0;                                // per agent; 0 = no observations
  int64_t state_size = 0;                              // global state; 0 = none
  std::vector<int64_t> discrete_action_cardinalities;  // one per discrete head
  int64_t continuous_action_dimension = 0;             // floats stored per agent
  bool action_mask = false;                            // masks (and next masks) per head
  bool global_reward = false;
  bool global_auxiliary_reward = false;  // e.g. human feedback
  bool individual_reward = false;
  bool individual_auxiliary_reward = false;
  bool log_prob_discrete = false;   // one log-prob per head
  int64_t log_prob_continuous = 0;  // log-probs stored per agent
  bool memory_weights = false;      // sampling weights

  std::vector<FieldSpec> ToFields() const;
};

class FlexibleBuffer {
 public:
  FlexibleBuffer(int64_t num_steps, int n_agents, std::vector<FieldSpec> fields, uint64_t seed = 0);
  FlexibleBuffer(int64_t num_steps, int n_agents, const StandardFields& standard,
                 uint64_t seed = 0);

  // ---- schema ----
  const std::vector<FieldSpec>& fields() const { return fields_; }
  int FieldId(std::string_view name) const;  // throws, listing the known names
  bool HasField(std::string_view name) const;
  int64_t capacity() const { return capacity_; }
  int n_agents() const { return n_agents_; }

  // ---- writing ----
  // Stages a field's values for the next transition (per agent: N x shape, global: shape).
  void Set(int field, const void* data, DType dtype, size_t count);
  template <typename T>
  void Set(int field, std::span<const T> values);
  template <typename T>
  void Set(std::string_view name, std::span<const T> values) {
    Set(FieldId(name), values);
  }
  template <typename T>
  void Set(std::string_view name, const std::vector<T>& values) {
    Set(FieldId(name), std::span<const T>(values));
  }
  // Writes the staged transition. Every field must be staged (memory_weights defaults to 1).
  void SaveTransition(bool terminated, bool truncated = false);
  void Reset();  // forgets every transition and episode (storage is kept)

  // ---- state ----
  int64_t size() const { return total_ < capacity_ ? total_ : capacity_; }  // valid rows
  int64_t next_index() const { return next_row_; }
  int64_t total_steps() const { return total_; }  // transitions ever saved
  int64_t num_episodes() const {
    return static_cast<int64_t>(episodes_.size());
  }  // finished, stored

  // ---- sampling ----
  // min(batch, size()) distinct rows, uniform or proportional to memory_weights.
  void SampleTransitions(int64_t batch, bool weighted, Batch* out);
  // The given ring rows, in order.
  void SampleTransitions(std::span<const int64_t> rows, Batch* out);
  // Random finished episodes without replacement until their lengths reach max_batch (the last
  // one trimmed to fit) or n_episodes (0 = no cap) are taken. Empty if no episode has ended.
  void SampleEpisodes(int64_t max_batch, int64_t n_episodes, EpisodeBatch* out);
  // The same episodes as views into the ring, without copying: each field is a strided array
  // (FieldView). Views stay valid until those rows are overwritten; an episode that wraps around
  // the ring end is copied into its view's own storage instead.
  void SampleEpisodeViews(int64_t max_batch, int64_t n_episodes, std::vector<EpisodeView>* out);
  // Prioritized replay: new sampling weights for rows (finite, >= 0).
  void UpdateWeights(std::span<const int64_t> rows, std::span<const double> weights);

  // ---- files ----
  // A folder of .npy files (one per field, N x T x ... or T x ..., the whole ring) + buffer.json
  // with the schema, ring position, counts, episode index and RNG state. Written to a temp folder,
  // fsynced, then renamed over `dir`.
  void Save(const std::string& dir) const;
  static FlexibleBuffer Load(const std::string& dir);
  void LoadInto(const std::string& dir);  // the folder's schema must equal this buffer's

  // One field's values of one agent at a ring row (global fields: agent 0). Each ring row is one
  // record holding every field of that step, so a sampled transition is one contiguous read.
  const uint8_t* At(int field, int agent, int64_t row) const {
    const auto f = static_cast<size_t>(field);
    return rows_.data() + static_cast<size_t>(row) * stride_ + offset_[f] +
           static_cast<size_t>(agent) * agent_bytes_[f];
  }
  uint8_t* MutableAt(int field, int agent, int64_t row) {  // e.g. relabeling rewards in place
    return const_cast<uint8_t*>(std::as_const(*this).At(field, agent, row));
  }
  size_t record_bytes() const { return stride_; }
  // The sampler's RNG (saved in buffer.json); buffers built on this storage draw from it too.
  Rng& rng() { return rng_; }

 private:
  FlexibleBuffer(int64_t num_steps, int n_agents, std::vector<FieldSpec> fields, uint64_t seed,
                 bool allocate);

  struct Episode {
    int64_t start;  // logical step (not ring row) of its first transition
    int64_t length;
  };

  std::vector<int64_t> StorageShape(const FieldSpec& f) const;
  size_t FileBytes(const FieldSpec& f) const;  // the data bytes of f's .npy file
  void PrepareBatch(int64_t rows, Batch* out) const;
  void PickEpisodes(int64_t max_batch, int64_t n_episodes);
  void Gather(std::span<const int64_t> rows, Batch* out, int64_t offset, int64_t batch_rows) const;
  void DrawUniform(int64_t batch, std::vector<int64_t>& rows);
  void DrawWeighted(int64_t batch, std::vector<int64_t>& rows);
  void CheckRows(std::span<const int64_t> rows) const;
  float* MutableWeight(int64_t row) {
    return reinterpret_cast<float*>(rows_.data() + static_cast<size_t>(row) * stride_ +
                                    offset_[weights_id_]);
  }
  // Calls copy(field, column, record byte offset, file data byte offset, rows, row bytes) for
  // every block of rows of every field and agent (column numbers the (field, agent) pairs).
  template <typename Fn>
  void ForEachColumnBlock(Fn&& copy) const;
  void Stage(int field, const void* data) {
    num_staged_ += staged_[static_cast<size_t>(field)] == nullptr;
    staged_[static_cast<size_t>(field)] = data;
  }
  void ClearStaged();
  void WriteFolder(const std::string& dir) const;  // buffer.json and the fields, synced
  void WriteFields(const std::string& dir) const;
  void ReadFields(const std::vector<std::unique_ptr<io::NpyReader>>& readers,
                  HugeArray& records) const;

  int64_t capacity_;                // T
  int n_agents_;                    // N
  std::vector<FieldSpec> fields_;   // schema
  HugeArray rows_;                  // one record per ring row: every field of a step   (T x stride)
  std::vector<size_t> offset_;      // byte offset of each field inside a record
  size_t stride_ = 0;               // bytes per record
  std::vector<size_t> step_bytes_;  // bytes of each field per step, all agents
  std::vector<size_t> agent_bytes_;  // bytes of each field per step and agent (row_bytes)
  std::vector<const void*> staged_;  // per field: values of the next transition
  size_t num_staged_ = 0;            // fields staged so far
  int terminated_id_, truncated_id_, weights_id_ = -1;
  int64_t total_ = 0;             // transitions saved since Reset
  int64_t next_row_ = 0;          // ring row of the next transition: total_ mod T
  int64_t current_start_ = 0;     // logical step where the open episode began
  std::deque<Episode> episodes_;  // finished episodes still fully stored, oldest first
  SumTree tree_;                  // memory weights of valid rows (when weighted)
  Rng rng_;
  std::vector<uint32_t> stamp_;  // draw marks for sampling without replacement   (T)
  uint32_t stamp_gen_ = 0;
  mutable std::vector<uint8_t> staging_;  // records being split into fields   (block x stride)
  std::vector<Episode> picked_;           // episodes chosen by the last PickEpisodes
  std::vector<int64_t> episode_order_;    // reused episode permutation
  std::vector<double> draw_u_;            // weighted draws in flight: uniforms   (draws)
  std::vector<int64_t> draw_rows_;        // and the rows they fall on   (draws)
};

}  // namespace rlforge::buffers
