#include "rlforge/buffers/flexible_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "rlforge/core/error.h"
#include "rlforge/io/metrics.h"
#include "rlforge/io/npy.h"

namespace rlforge::buffers {
namespace {

// Copies `count` items of `bytes` bytes from `src` (items src_stride apart) to `dst` (items
// dst_stride apart): a field's column out of records, or into them. The common sizes get a
// fixed-size copy the compiler turns into a few loads and stores.
template <size_t kBytes>
void CopyStrided(uint8_t* dst, size_t dst_stride, const uint8_t* src, size_t src_stride,
                 size_t count) {
  for (size_t k = 0; k < count; ++k)
    std::memcpy(dst + k * dst_stride, src + k * src_stride, kBytes);
}

void CopyStrided(uint8_t* dst, size_t dst_stride, const uint8_t* src, size_t src_stride,
                 size_t count, size_t bytes) {
  switch (bytes) {
    case 1:
      return CopyStrided<1>(dst, dst_stride, src, src_stride, count);
    case 4:
      return CopyStrided<4>(dst, dst_stride, src, src_stride, count);
    case 8:
      return CopyStrided<8>(dst, dst_stride, src, src_stride, count);
    case 12:
      return CopyStrided<12>(dst, dst_stride, src, src_stride, count);
    case 16:
      return CopyStrided<16>(dst, dst_stride, src, src_stride, count);
    case 20:
      return CopyStrided<20>(dst, dst_stride, src, src_stride, count);
    case 32:
      return CopyStrided<32>(dst, dst_stride, src, src_stride, count);
    case 128:
      return CopyStrided<128>(dst, dst_stride, src, src_stride, count);
    case 256:
      return CopyStrided<256>(dst, dst_stride, src, src_stride, count);
    default:
      for (size_t k = 0; k < count; ++k)
        std::memcpy(dst + k * dst_stride, src + k * src_stride, bytes);
  }
}

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr char kMetaFile[] = "buffer.json";

const char* ScopeName(Scope s) { return s == Scope::kGlobal ? "global" : "per_agent"; }

Scope ScopeFromName(const std::string& s, const std::string& where) {
  if (s == "global") return Scope::kGlobal;
  if (s == "per_agent") return Scope::kPerAgent;
  throw Error(where + ": scope must be \"global\" or \"per_agent\", got \"" + s + "\"");
}

DType DTypeFromName(const std::string& s, const std::string& where) {
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kUInt8,
                  DType::kBool}) {
    if (s == DTypeName(d)) return d;
  }
  throw Error(where + ": unknown dtype \"" + s +
              "\" (expected float32, float64, int32, int64, uint8 or bool)");
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

void FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// buffer.json's checksum of itself (io::JsonCrc32cHex) and of each field file's data
constexpr const char* kCrcKey = "crc32c";

}  // namespace

// ---- schema ----------------------------------------------------------------------------------

int64_t FieldSpec::elements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::vector<FieldSpec> StandardFields::ToFields() const {
  std::vector<FieldSpec> f;
  const auto heads = static_cast<int64_t>(discrete_action_cardinalities.size());
  if (obs_size > 0) {
    f.push_back({"obs", Scope::kPerAgent, {obs_size}, DType::kFloat32});
    f.push_back({"obs_", Scope::kPerAgent, {obs_size}, DType::kFloat32});
  }
  if (state_size > 0) {
    f.push_back({"state", Scope::kGlobal, {state_size}, DType::kFloat32});
    f.push_back({"state_", Scope::kGlobal, {state_size}, DType::kFloat32});
  }
  if (heads > 0) f.push_back({"discrete_actions", Scope::kPerAgent, {heads}, DType::kInt64});
  if (continuous_action_dimension > 0) {
    f.push_back(
        {"continuous_actions", Scope::kPerAgent, {continuous_action_dimension}, DType::kFloat32});
  }
  if (log_prob_discrete) {
    if (heads == 0) throw Error("log_prob_discrete: needs discrete_action_cardinalities");
    f.push_back({"discrete_log_probs", Scope::kPerAgent, {heads}, DType::kFloat32});
  }
  if (log_prob_continuous > 0) {
    f.push_back({"continuous_log_probs", Scope::kPerAgent, {log_prob_continuous}, DType::kFloat32});
  }
  if (global_reward) f.push_back({"global_rewards", Scope::kGlobal, {}, DType::kFloat32});
  if (global_auxiliary_reward)
    f.push_back({"global_auxiliary_rewards", Scope::kGlobal, {}, DType::kFloat32});
  if (individual_reward) f.push_back({"individual_rewards", Scope::kPerAgent, {}, DType::kFloat32});
  if (individual_auxiliary_reward) {
    f.push_back({"individual_auxiliary_rewards", Scope::kPerAgent, {}, DType::kFloat32});
  }
  if (action_mask) {
    if (heads == 0) throw Error("action_mask: needs discrete_action_cardinalities");
    for (int64_t i = 0; i < heads; ++i) {
      f.push_back({"action_mask" + std::to_string(i),
                   Scope::kPerAgent,
                   {discrete_action_cardinalities[i]},
                   DType::kFloat32});
      f.push_back({"action_mask_" + std::to_string(i),
                   Scope::kPerAgent,
                   {discrete_action_cardinalities[i]},
                   DType::kFloat32});
    }
  }
  if (memory_weights) f.push_back({"memory_weights", Scope::kGlobal, {}, DType::kFloat32});
  return f;
}

FlexibleBuffer::FlexibleBuffer(int64_t num_steps, int n_agents, const StandardFields& standard,
                               uint64_t seed)
    : FlexibleBuffer(num_steps, n_agents, standard.ToFields(), seed) {}

FlexibleBuffer::FlexibleBuffer(int64_t num_steps, int n_agents, std::vector<FieldSpec> fields,
                               uint64_t seed)
    : FlexibleBuffer(num_steps, n_agents, std::move(fields), seed, /*allocate=*/true) {}

FlexibleBuffer::FlexibleBuffer(int64_t num_steps, int n_agents, std::vector<FieldSpec> fields,
                               uint64_t seed, bool allocate)
    : capacity_(num_steps), n_agents_(n_agents), fields_(std::move(fields)), rng_(seed) {
  if (num_steps <= 0)
    throw Error("num_steps: expected a positive integer, got " + std::to_string(num_steps));
  if (n_agents <= 0)
    throw Error("n_agents: expected a positive integer, got " + std::to_string(n_agents));
  for (const char* name : {"terminated", "truncated"}) {
    if (!HasField(name)) fields_.push_back({name, Scope::kGlobal, {}, DType::kBool});
  }
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldSpec& f = fields_[i];
    if (f.name.empty() || f.name.find_first_of("/\\. ") != std::string::npos) {
      throw Error("field name \"" + f.name +
                  "\": expected a non-empty name without '/', '\\', '.' or spaces");
    }
    for (int64_t d : f.shape) {
      if (d <= 0)
        throw Error("field '" + f.name + "': shape " + ShapeText(f.shape) + " must be positive");
    }
    for (size_t j = 0; j < i; ++j) {
      if (fields_[j].name == f.name) throw Error("field '" + f.name + "' is registered twice");
    }
  }
  terminated_id_ = FieldId("terminated");
  truncated_id_ = FieldId("truncated");
  for (const int id : {terminated_id_, truncated_id_}) {
    if (fields_[id].scope != Scope::kGlobal || fields_[id].dtype != DType::kBool ||
        !fields_[id].shape.empty()) {
      throw Error("field '" + fields_[id].name + "' must be a global bool scalar");
    }
  }
  if (HasField("memory_weights")) {
    weights_id_ = FieldId("memory_weights");
    const FieldSpec& w = fields_[weights_id_];
    if (w.scope != Scope::kGlobal || w.dtype != DType::kFloat32 || !w.shape.empty()) {
      throw Error("field 'memory_weights' must be a global float32 scalar");
    }
    tree_ = SumTree(capacity_);
  }
  // record layout: widest dtypes first so every field is aligned; records padded to 8 bytes
  std::vector<size_t> order(fields_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return DTypeSize(fields_[a].dtype) > DTypeSize(fields_[b].dtype);
  });
  offset_.assign(fields_.size(), 0);
  step_bytes_.assign(fields_.size(), 0);
  agent_bytes_.assign(fields_.size(), 0);
  for (size_t i : order) {
    offset_[i] = stride_;
    agent_bytes_[i] = fields_[i].row_bytes();
    step_bytes_[i] =
        static_cast<size_t>(fields_[i].scope == Scope::kPerAgent ? n_agents_ : 1) * agent_bytes_[i];
    stride_ += step_bytes_[i];
  }
  stride_ = (stride_ + 7) / 8 * 8;
  if (allocate) rows_ = HugeArray(static_cast<size_t>(capacity_) * stride_);
  if (weights_id_ >= 0 && allocate) {
    for (int64_t r = 0; r < capacity_; ++r) *MutableWeight(r) = 1.0f;
  }
  staged_.assign(fields_.size(), nullptr);
  stamp_.assign(static_cast<size_t>(capacity_), 0);
}

bool FlexibleBuffer::HasField(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const FieldSpec& f) { return f.name == name; });
}

int FlexibleBuffer::FieldId(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  std::string known;
  for (const auto& f : fields_) known += (known.empty() ? "" : ", ") + f.name;
  throw Error("unknown field '" + std::string(name) + "' (fields: " + known + ")");
}

std::vector<int64_t> FlexibleBuffer::StorageShape(const FieldSpec& f) const {
  std::vector<int64_t> shape;
  if (f.scope == Scope::kPerAgent) shape.push_back(n_agents_);
  shape.push_back(capacity_);
  shape.insert(shape.end(), f.shape.begin(), f.shape.end());
  return shape;
}

// ---- writing ---------------------------------------------------------------------------------

void FlexibleBuffer::Set(int field, const void* data, DType dtype, size_t count) {
  if (field < 0 || field >= static_cast<int>(fields_.size()))
    throw Error("Set: field id out of range");
  const FieldSpec& f = fields_[field];
  if (dtype != f.dtype) {
    throw Error("field '" + f.name + "': expected " + DTypeName(f.dtype) + " values, got " +
                DTypeName(dtype));
  }
  if (count * DTypeSize(dtype) != step_bytes_[field]) {
    const size_t want = step_bytes_[field] / DTypeSize(dtype);
    throw Error(
        "field '" + f.name + "': expected " + std::to_string(want) + " values (" +
        (f.scope == Scope::kPerAgent ? std::to_string(n_agents_) + " agents x " : std::string()) +
        ShapeText(f.shape) + "), got " + std::to_string(count));
  }
  if (data == nullptr) throw Error("field '" + f.name + "': no data");
  Stage(field, data);
}

void FlexibleBuffer::ClearStaged() {
  std::fill(staged_.begin(), staged_.end(), nullptr);
  num_staged_ = 0;
}

template <typename T>
void FlexibleBuffer::Set(int field, std::span<const T> values) {
  Set(field, values.data(), DTypeOf<T>(), values.size());
}
template void FlexibleBuffer::Set<float>(int, std::span<const float>);
template void FlexibleBuffer::Set<double>(int, std::span<const double>);
template void FlexibleBuffer::Set<int64_t>(int, std::span<const int64_t>);
template void FlexibleBuffer::Set<int32_t>(int, std::span<const int32_t>);
template void FlexibleBuffer::Set<uint8_t>(int, std::span<const uint8_t>);
template void FlexibleBuffer::Set<bool>(int, std::span<const bool>);

void FlexibleBuffer::SaveTransition(bool terminated, bool truncated) {
  const bool flags[2] = {terminated, truncated};
  const float unit_weight = 1.0f;
  Stage(terminated_id_, &flags[0]);
  Stage(truncated_id_, &flags[1]);
  if (weights_id_ >= 0 && staged_[weights_id_] == nullptr) Stage(weights_id_, &unit_weight);
  if (num_staged_ != fields_.size()) {
    const size_t missing =
        static_cast<size_t>(std::find(staged_.begin(), staged_.end(), nullptr) - staged_.begin());
    ClearStaged();
    throw Error("save_transition: no value given for field '" + fields_[missing].name + "'");
  }
  if (weights_id_ >= 0) {
    const float w = *static_cast<const float*>(staged_[weights_id_]);
    if (!(std::isfinite(w) && w >= 0.0f)) {
      ClearStaged();
      throw Error("field 'memory_weights': expected a finite weight >= 0, got " +
                  std::to_string(w));
    }
  }

  // copy every field into the row's record (per-agent values are N x shape in both)
  const int64_t row = next_row_;
  uint8_t* record = rows_.data() + static_cast<size_t>(row) * stride_;
  for (size_t i = 0; i < fields_.size(); ++i)
    std::memcpy(record + offset_[i], staged_[i], step_bytes_[i]);
  ClearStaged();
  if (weights_id_ >= 0) tree_.Set(row, *MutableWeight(row));

  // episode index: drop overwritten episodes, close the open one at a terminal step
  ++total_;
  if (++next_row_ == capacity_) next_row_ = 0;
  const int64_t oldest = total_ - capacity_;
  while (!episodes_.empty() && episodes_.front().start < oldest) episodes_.pop_front();
  if (terminated || truncated) {
    const int64_t start = std::max(current_start_, oldest);
    episodes_.push_back({start, total_ - start});
    current_start_ = total_;
  }
}

void FlexibleBuffer::Reset() {
  total_ = 0;
  next_row_ = 0;
  current_start_ = 0;
  episodes_.clear();
  ClearStaged();
  if (weights_id_ >= 0) tree_.Clear();
}

// ---- sampling --------------------------------------------------------------------------------

void FlexibleBuffer::PrepareBatch(int64_t rows, Batch* out) const {
  out->fields.resize(fields_.size());
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldSpec& f = fields_[i];
    std::vector<int64_t> shape;
    if (f.scope == Scope::kPerAgent) shape.push_back(n_agents_);
    shape.push_back(rows);
    shape.insert(shape.end(), f.shape.begin(), f.shape.end());
    out->fields[i].name = f.name;
    out->fields[i].Resize(f.dtype, std::move(shape));
  }
}

namespace {}  // namespace

// Copies `rows` into batch positions [offset, offset + rows.size()) of a batch of batch_rows.
// Each block of records is first copied whole into a small staging area (one sequential read
// per record, which the hardware prefetcher streams), then split into fields from cache.
void FlexibleBuffer::Gather(std::span<const int64_t> rows, Batch* out, int64_t offset,
                            int64_t batch_rows) const {
  const size_t block_rows = std::max<size_t>(1, std::min<size_t>(64, (64 << 10) / stride_));
  staging_.resize(block_rows * stride_);
  const uint8_t* base = rows_.data();
  const size_t n = rows.size();
  for (size_t begin = 0; begin < n; begin += block_rows) {
    const size_t end = std::min(n, begin + block_rows);
    // the next block's records: start their first lines now, the hardware streams the rest
    for (size_t k = end; k < std::min(n, end + block_rows); ++k) {
      __builtin_prefetch(base + static_cast<size_t>(rows[k]) * stride_);
      __builtin_prefetch(base + static_cast<size_t>(rows[k]) * stride_ + 64);
    }
    for (size_t k = begin; k < end; ++k) {
      std::memcpy(staging_.data() + (k - begin) * stride_,
                  base + static_cast<size_t>(rows[k]) * stride_, stride_);
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      const size_t rb = fields_[i].row_bytes();
      uint8_t* dst = out->fields[i].data.data();
      const int agents = fields_[i].scope == Scope::kPerAgent ? n_agents_ : 1;
      for (int a = 0; a < agents; ++a) {
        CopyStrided(dst + (static_cast<size_t>(a) * batch_rows + offset + begin) * rb, rb,
                    staging_.data() + offset_[i] + a * rb, stride_, end - begin, rb);
      }
    }
  }
}

void FlexibleBuffer::DrawUniform(int64_t batch, std::vector<int64_t>& rows) {
  const int64_t n = size();
  rows.clear();
  if (batch * 2 <= n) {
    // rejection with generation stamps: expected O(batch)
    if (++stamp_gen_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0);
      stamp_gen_ = 1;
    }
    while (static_cast<int64_t>(rows.size()) < batch) {
      const int64_t r = rng_.Integers(n);
      if (stamp_[r] != stamp_gen_) {
        stamp_[r] = stamp_gen_;
        rows.push_back(r);
      }
    }
    return;
  }
  // partial Fisher-Yates over all rows
  rows.resize(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  for (int64_t i = 0; i < batch; ++i) std::swap(rows[i], rows[i + rng_.Integers(n - i)]);
  rows.resize(static_cast<size_t>(batch));
}

void FlexibleBuffer::DrawWeighted(int64_t batch, std::vector<int64_t>& rows) {
  if (weights_id_ < 0) throw Error("weighted sampling needs the 'memory_weights' field");
  rows.clear();
  if (++stamp_gen_ == 0) {
    std::fill(stamp_.begin(), stamp_.end(), 0);
    stamp_gen_ = 1;
  }
  // Draw proportional to the weights and reject rows already drawn: the same distribution as
  // removing each drawn row and renormalizing (NumPy's choice(replace=False, p=w)).
  // The draws still missing are made together (the tree descended for all of them at once) and
  // accepted in order: the same draws and rows as one at a time.
  int64_t rejected = 0;
  const double total = tree_.Total();
  while (total > 0.0 && static_cast<int64_t>(rows.size()) < batch && rejected <= 4 * batch + 64) {
    draw_u_.resize(static_cast<size_t>(batch) - rows.size());
    draw_rows_.resize(draw_u_.size());
    for (double& u : draw_u_) u = rng_.Random() * total;
    tree_.FindMany(draw_u_, draw_rows_);
    for (const int64_t r : draw_rows_) {
      if (tree_.Get(r) <= 0.0) continue;  // rounding at an interval edge
      if (stamp_[r] == stamp_gen_) {
        ++rejected;
        continue;
      }
      stamp_[r] = stamp_gen_;
      rows.push_back(r);
    }
  }
  if (static_cast<int64_t>(rows.size()) == batch) return;
  // Heavily skewed weights: take the drawn rows out of the tree and draw the rest from what is
  // left.
  for (const int64_t r : rows) tree_.Set(r, 0.0);
  while (static_cast<int64_t>(rows.size()) < batch) {
    const double total = tree_.Total();
    if (!(total > 0.0)) {
      for (const int64_t r : rows) tree_.Set(r, *MutableWeight(r));
      throw Error("weighted sampling: fewer than " + std::to_string(batch) +
                  " rows have a positive memory weight");
    }
    const int64_t r = tree_.Find(rng_.Random() * total);
    if (tree_.Get(r) <= 0.0) continue;
    rows.push_back(r);
    tree_.Set(r, 0.0);
  }
  for (const int64_t r : rows) tree_.Set(r, *MutableWeight(r));
}

void FlexibleBuffer::SampleTransitions(int64_t batch, bool weighted, Batch* out) {
  if (batch <= 0)
    throw Error("sample_transitions: batch must be positive, got " + std::to_string(batch));
  const int64_t b = std::min(batch, size());
  if (weighted) {
    DrawWeighted(b, out->indices);
  } else {
    DrawUniform(b, out->indices);
  }
  PrepareBatch(b, out);
  Gather(out->indices, out, 0, b);
}

void FlexibleBuffer::CheckRows(std::span<const int64_t> rows) const {
  for (int64_t r : rows) {
    if (r < 0 || r >= size()) {
      throw Error("row " + std::to_string(r) + " is not a stored transition (valid: 0.." +
                  std::to_string(size() - 1) + ")");
    }
  }
}

void FlexibleBuffer::SampleTransitions(std::span<const int64_t> rows, Batch* out) {
  CheckRows(rows);
  out->indices.assign(rows.begin(), rows.end());
  PrepareBatch(static_cast<int64_t>(rows.size()), out);
  Gather(rows, out, 0, static_cast<int64_t>(rows.size()));
}

void FlexibleBuffer::PickEpisodes(int64_t max_batch, int64_t n_episodes) {
  if (max_batch <= 0) throw Error("sample_episodes: max_batch must be positive");
  if (n_episodes < 0) throw Error("sample_episodes: n_episodes must be >= 0");
  // a random order of the stored episodes (partial shuffle as we go); the last one trimmed to fit
  const auto count = static_cast<int64_t>(episodes_.size());
  episode_order_.resize(static_cast<size_t>(count));
  std::iota(episode_order_.begin(), episode_order_.end(), 0);
  picked_.clear();
  int64_t taken = 0;
  for (int64_t e = 0; e < count && taken < max_batch && (n_episodes == 0 || e < n_episodes); ++e) {
    std::swap(episode_order_[e], episode_order_[e + rng_.Integers(count - e)]);
    const Episode& ep = episodes_[static_cast<size_t>(episode_order_[e])];
    const int64_t len = std::min(ep.length, max_batch - taken);
    picked_.push_back({ep.start, len});
    taken += len;
  }
}

void FlexibleBuffer::SampleEpisodes(int64_t max_batch, int64_t n_episodes, EpisodeBatch* out) {
  PickEpisodes(max_batch, n_episodes);
  out->starts.clear();
  out->lengths.clear();
  out->indices.clear();
  for (const Episode& ep : picked_) {
    out->starts.push_back(static_cast<int64_t>(out->indices.size()));
    out->lengths.push_back(ep.length);
    for (int64_t t = 0; t < ep.length; ++t) out->indices.push_back((ep.start + t) % capacity_);
  }
  const auto taken = static_cast<int64_t>(out->indices.size());
  PrepareBatch(taken, out);
  Gather(out->indices, out, 0, taken);
}

void FlexibleBuffer::SampleEpisodeViews(int64_t max_batch, int64_t n_episodes,
                                        std::vector<EpisodeView>* out) {
  PickEpisodes(max_batch, n_episodes);
  out->resize(picked_.size());
  for (size_t e = 0; e < picked_.size(); ++e) {
    EpisodeView& view = (*out)[e];
    const int64_t first = picked_[e].start % capacity_, len = picked_[e].length;
    view.start = first;
    view.length = len;
    view.fields.resize(fields_.size());
    const bool wraps = first + len > capacity_;
    if (wraps) {  // not one strided run in the ring: copy this episode
      view.copy.indices.clear();
      for (int64_t t = 0; t < len; ++t) view.copy.indices.push_back((first + t) % capacity_);
      PrepareBatch(len, &view.copy);
      Gather(view.copy.indices, &view.copy, 0, len);
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      const FieldSpec& f = fields_[i];
      const auto item = static_cast<int64_t>(DTypeSize(f.dtype));
      FieldView& v = view.fields[i];
      v.dtype = f.dtype;
      v.shape.clear();
      v.strides.clear();
      const int64_t rb = static_cast<int64_t>(f.row_bytes()) / item;
      if (f.scope == Scope::kPerAgent) {
        v.shape.push_back(n_agents_);
        v.strides.push_back(wraps ? len * rb : rb);
      }
      v.shape.push_back(len);
      v.strides.push_back(wraps ? rb : static_cast<int64_t>(stride_) / item);
      // per-step dims are contiguous in both the ring and a copy
      v.shape.insert(v.shape.end(), f.shape.begin(), f.shape.end());
      const size_t lead = v.strides.size();
      v.strides.resize(lead + f.shape.size());
      int64_t inner = 1;
      for (size_t d = f.shape.size(); d-- > 0;) {
        v.strides[lead + d] = inner;
        inner *= f.shape[d];
      }
      v.data = wraps ? view.copy.fields[i].data.data()
                     : rows_.data() + static_cast<size_t>(first) * stride_ + offset_[i];
    }
  }
}

void FlexibleBuffer::UpdateWeights(std::span<const int64_t> rows, std::span<const double> weights) {
  if (weights_id_ < 0) throw Error("update_weights: the buffer has no 'memory_weights' field");
  if (rows.size() != weights.size())
    throw Error("update_weights: rows and weights differ in length");
  CheckRows(rows);
  for (double w : weights) {
    if (!(std::isfinite(w) && w >= 0.0))
      throw Error("update_weights: expected finite weights >= 0, got " + std::to_string(w));
  }
  for (size_t k = 0; k < rows.size(); ++k) {
    *MutableWeight(rows[k]) = static_cast<float>(weights[k]);
    tree_.Set(rows[k], *MutableWeight(rows[k]));
  }
}

// ---- files -----------------------------------------------------------------------------------

// A field's file is (N x T x shape) or (T x shape): one column of the records. Records are moved
// in blocks of rows, every field and agent at once, so each record is touched once per block while
// it is in cache. Reads copy straight out of the mapped files; writes gather each column into a
// staging buffer flushed in large writes (small writes, and writes through a mapping, cost ext4
// far more per byte).
constexpr int64_t kBlockRows = 512;
constexpr size_t kStagingBytes = size_t{16} << 20;  // all columns' write buffers together

template <typename Fn>
void FlexibleBuffer::ForEachColumnBlock(Fn&& copy) const {
  for (int64_t begin = 0; begin < capacity_; begin += kBlockRows) {
    const auto n = static_cast<size_t>(std::min(kBlockRows, capacity_ - begin));
    for (size_t i = 0, column = 0; i < fields_.size(); ++i) {
      const size_t rb = fields_[i].row_bytes();
      for (int a = 0; a < (fields_[i].scope == Scope::kPerAgent ? n_agents_ : 1); ++a, ++column) {
        const size_t record_at = static_cast<size_t>(begin) * stride_ + offset_[i] + a * rb;
        const size_t file_at = (static_cast<size_t>(a) * capacity_ + begin) * rb;
        copy(i, column, record_at, file_at, n, rb);
      }
    }
  }
}

size_t FlexibleBuffer::FileBytes(const FieldSpec& f) const {
  const std::vector<int64_t> shape = StorageShape(f);
  return std::accumulate(shape.begin(), shape.end(), size_t{1}, std::multiplies<>()) *
         DTypeSize(f.dtype);
}

void FlexibleBuffer::WriteFields(const std::string& dir) const {
  std::vector<std::unique_ptr<io::NpyWriter>> writers;
  size_t columns = 0;
  for (const auto& f : fields_) {
    writers.push_back(
        std::make_unique<io::NpyWriter>(dir + "/" + f.name + ".npy", f.dtype, StorageShape(f)));
    columns += f.scope == Scope::kPerAgent ? static_cast<size_t>(n_agents_) : 1;
  }
  struct Column {
    std::vector<uint8_t> staged;  // gathered rows not yet written   (bytes)
    size_t field = 0;             // whose file it goes to
    size_t file_at = 0;           // data offset of staged[0] in that file
  };
  std::vector<Column> staging(columns);
  const auto flush = [&](Column& c) {
    writers[c.field]->WriteAt(c.file_at, c.staged.data(), c.staged.size());
    c.file_at += c.staged.size();
    c.staged.clear();
  };
  const size_t capacity = kStagingBytes / columns;
  ForEachColumnBlock(
      [&](size_t i, size_t column, size_t record_at, size_t file_at, size_t n, size_t rb) {
        Column& c = staging[column];
        if (c.staged.empty()) c.field = i, c.file_at = file_at;
        const size_t used = c.staged.size();
        c.staged.resize(used + n * rb);
        CopyStrided(c.staged.data() + used, rb, rows_.data() + record_at, stride_, n, rb);
        if (c.staged.size() >= capacity) flush(c);
      });
  for (Column& c : staging)
    if (!c.staged.empty()) flush(c);
  for (auto& w : writers) w->Commit(/*sync=*/false);  // starts write-back; Save syncs them all
}

void FlexibleBuffer::ReadFields(const std::vector<std::unique_ptr<io::NpyReader>>& readers,
                                HugeArray& records) const {
  std::vector<const uint8_t*> files;
  for (const auto& r : readers) files.push_back(r->MapData());
  ForEachColumnBlock([&](size_t i, size_t, size_t record_at, size_t file_at, size_t n, size_t rb) {
    CopyStrided(records.data() + record_at, stride_, files[i] + file_at, rb, n, rb);
  });
}

void FlexibleBuffer::Save(const std::string& dir) const {
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) && ec)
    throw Error(dir + ": cannot create folder: " + ec.message());
  try {
    WriteFolder(tmp);
  } catch (const Error&) {  // e.g. a full disk: free what the half-written folder holds
    fs::remove_all(tmp, ec);
    throw;
  }
  // swap the finished folder in; the old one (if any) is removed only after
  const std::string old = dir + ".old-" + std::to_string(::getpid());
  const bool had_old = fs::exists(dir);
  if (had_old) fs::rename(dir, old, ec);
  if (ec) throw Error(dir + ": cannot replace: " + ec.message());
  fs::rename(tmp, dir, ec);
  if (ec) {
    if (had_old) fs::rename(old, dir);
    throw Error(dir + ": cannot rename the new buffer into place: " + ec.message());
  }
  FsyncDir(fs::absolute(dir).parent_path().string());
  if (had_old) fs::remove_all(old, ec);
}

void FlexibleBuffer::WriteFolder(const std::string& tmp) const {
  json meta = {{"format", "rlforge.FlexibleBuffer"},
               {"version", kFormatVersion},
               {"num_steps", capacity_},
               {"n_agents", n_agents_},
               {"total_steps", total_},
               {"idx", next_index()},
               {"steps_recorded", size()},
               {"current_episode_start", current_start_},
               {"rng", rng_.Serialize()}};
  json episodes = json::array();
  for (const auto& e : episodes_) episodes.push_back({e.start, e.length});
  meta["episodes"] = episodes;
  json schema = json::array();
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldSpec& f = fields_[i];
    schema.push_back({{"name", f.name},
                      {"scope", ScopeName(f.scope)},
                      {"shape", f.shape},
                      {"dtype", DTypeName(f.dtype)}});
  }
  WriteFields(tmp);
  for (size_t i = 0; i < fields_.size(); ++i) {  // read back from the page cache
    io::NpyReader file(tmp + "/" + fields_[i].name + ".npy", fields_[i].dtype,
                       StorageShape(fields_[i]));
    schema[i][kCrcKey] = io::Crc32cHex(file.MapData(), FileBytes(fields_[i]));
  }
  meta["fields"] = schema;
  meta[kCrcKey] = io::JsonCrc32cHex(meta, kCrcKey);
  {
    std::ofstream out(tmp + "/" + kMetaFile, std::ios::binary);
    out << meta.dump(1);
    if (!out.flush()) throw Error(tmp + "/" + kMetaFile + ": write failed");
  }
  // one sync of the file system makes every file, and the folder, durable at once: a cache flush
  // per file would cost more than the writes
  io::SyncFileSystem(tmp);
}

namespace {

struct Meta {
  int64_t num_steps, total, current_start;
  int n_agents;
  std::string rng;
  std::vector<std::pair<int64_t, int64_t>> episodes;
  std::vector<FieldSpec> fields;
  std::vector<std::string> crcs;  // each field file's data checksum ("" = none recorded)
};

Meta ReadMeta(const std::string& dir) {
  const std::string path = dir + "/" + kMetaFile;
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open (is " + dir + " a saved FlexibleBuffer?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  if (j.is_object() && j.contains(kCrcKey) && j[kCrcKey] != io::JsonCrc32cHex(j, kCrcKey))
    throw Error(path + ": does not match its checksum (crc32c): the file is corrupt");
  // a misspelt key would be ignored (a checksum unchecked): refuse what this format never writes
  const auto known = [&](const json& object, const std::set<std::string>& keys,
                         const std::string& where) {
    if (!object.is_object()) return;
    for (const auto& [key, value] : object.items())
      if (!keys.count(key)) throw Error(path + ": unknown key '" + key + "'" + where);
  };
  known(j,
        {"format", "version", "num_steps", "n_agents", "total_steps", "idx", "steps_recorded",
         "current_episode_start", "rng", "episodes", "fields", kCrcKey},
        "");
  if (j.is_object() && j.contains("fields") && j["fields"].is_array())
    for (const json& f : j["fields"])
      known(f, {"name", "scope", "shape", "dtype", kCrcKey}, " in 'fields'");
  Meta m{};
  // a JSON integer that fits int64 (nlohmann converts a float or a huge unsigned silently)
  const auto integer = [&](const json& v, const std::string& key) -> int64_t {
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}))
      throw Error(path + ": '" + key + "' should be an integer, got " + v.dump());
    return v.get<int64_t>();
  };
  try {
    if (j.at("format") != "rlforge.FlexibleBuffer")
      throw Error(path + ": 'format' is not rlforge.FlexibleBuffer");
    if (j.at("version") != kFormatVersion)
      throw Error(path + ": unsupported version " + j.at("version").dump());
    m.num_steps = integer(j.at("num_steps"), "num_steps");
    const int64_t agents = integer(j.at("n_agents"), "n_agents");
    if (agents <= 0 || agents > 1'000'000) throw Error(path + ": 'n_agents' out of range");
    m.n_agents = static_cast<int>(agents);
    m.total = integer(j.at("total_steps"), "total_steps");
    m.current_start = integer(j.at("current_episode_start"), "current_episode_start");
    m.rng = j.at("rng").get<std::string>();
    for (const auto& e : j.at("episodes"))
      m.episodes.emplace_back(integer(e.at(0), "episodes"), integer(e.at(1), "episodes"));
    for (const auto& f : j.at("fields")) {
      const std::string name = f.at("name").get<std::string>();
      const std::string where = path + ": field '" + name + "'";
      std::vector<int64_t> shape;
      uint64_t bytes = static_cast<uint64_t>(m.num_steps > 0 ? m.num_steps : 1) *
                       static_cast<uint64_t>(m.n_agents);
      for (const auto& d : f.at("shape")) {
        shape.push_back(integer(d, "shape"));
        if (shape.back() <= 0 || __builtin_mul_overflow(bytes, uint64_t(shape.back()), &bytes) ||
            bytes > (uint64_t{1} << 48))
          throw Error(where + ": shape too large or not positive");
      }
      m.fields.push_back({name, ScopeFromName(f.at("scope").get<std::string>(), where), shape,
                          DTypeFromName(f.at("dtype").get<std::string>(), where)});
      m.crcs.push_back(f.contains(kCrcKey) ? f.at(kCrcKey).get<std::string>() : "");
    }
  } catch (const json::exception& e) {
    throw Error(path + ": malformed: " + e.what());
  }
  if (m.num_steps <= 0 || m.num_steps > (int64_t{1} << 40) || m.total < 0 || m.current_start < 0 ||
      m.current_start > m.total) {
    throw Error(path + ": inconsistent sizes or counters");
  }
  for (const auto& [start, len] : m.episodes) {
    if (len <= 0 || len > m.num_steps || start < m.total - m.num_steps || len > m.total - start) {
      throw Error(path + ": episode [" + std::to_string(start) + ", +" + std::to_string(len) +
                  ") is outside the stored steps");
    }
  }
  return m;
}

}  // namespace

FlexibleBuffer FlexibleBuffer::Load(const std::string& dir) {
  const Meta m = ReadMeta(dir);
  FlexibleBuffer buffer(m.num_steps, m.n_agents, m.fields, 0, /*allocate=*/false);
  buffer.LoadInto(dir);
  return buffer;
}

void FlexibleBuffer::LoadInto(const std::string& dir) {
  const Meta m = ReadMeta(dir);
  const std::string meta_path = dir + "/" + kMetaFile;
  if (m.num_steps != capacity_ || m.n_agents != n_agents_) {
    throw Error(meta_path + ": schema mismatch: saved num_steps=" + std::to_string(m.num_steps) +
                ", n_agents=" + std::to_string(m.n_agents) + "; this buffer has " +
                std::to_string(capacity_) + " and " + std::to_string(n_agents_));
  }
  if (m.fields.size() != fields_.size()) {
    throw Error(meta_path + ": schema mismatch: saved " + std::to_string(m.fields.size()) +
                " fields, this buffer has " + std::to_string(fields_.size()));
  }
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldSpec& a = m.fields[i];
    const FieldSpec& b = fields_[i];
    if (!(a == b)) {
      throw Error(meta_path + ": schema mismatch at field " + std::to_string(i) + ": saved '" +
                  a.name + "' " + ScopeName(a.scope) + " " + ShapeText(a.shape) + " " +
                  DTypeName(a.dtype) + ", this buffer has '" + b.name + "' " + ScopeName(b.scope) +
                  " " + ShapeText(b.shape) + " " + DTypeName(b.dtype));
    }
  }
  // check every file (header, dtype, shape, size) and the weights before touching this buffer
  std::vector<std::unique_ptr<io::NpyReader>> readers;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const std::string path = dir + "/" + fields_[i].name + ".npy";
    readers.push_back(
        std::make_unique<io::NpyReader>(path, fields_[i].dtype, StorageShape(fields_[i])));
    if (!m.crcs[i].empty() &&
        m.crcs[i] != io::Crc32cHex(readers[i]->MapData(), FileBytes(fields_[i])))
      throw Error(path + ": data do not match their checksum in " + kMetaFile +
                  ": the file is corrupt (or was rewritten on purpose: then delete field '" +
                  fields_[i].name + "''s \"crc32c\" there)");
  }
  Rng rng;
  rng.Deserialize(m.rng);
  std::vector<float> w;  // the memory weights, for the sum tree
  if (weights_id_ >= 0) {
    w.resize(static_cast<size_t>(capacity_));
    readers[weights_id_]->ReadAt(0, w.data(), w.size() * sizeof(float));
    for (int64_t r = 0; r < std::min(m.total, capacity_); ++r) {
      if (!(std::isfinite(w[r]) && w[r] >= 0.0f)) {
        throw Error(dir + "/memory_weights.npy: row " + std::to_string(r) +
                    " holds an invalid weight");
      }
    }
  }
  // then read in place; should the disk fail now, the buffer is left empty, never half-loaded
  if (rows_.size() == 0)
    rows_ = HugeArray(static_cast<size_t>(capacity_) * stride_, /*zero=*/false);
  try {
    ReadFields(readers, rows_);
  } catch (const Error& e) {
    Reset();
    throw Error(std::string(e.what()) + " (the buffer was emptied)");
  }
  total_ = m.total;
  next_row_ = total_ % capacity_;
  current_start_ = m.current_start;
  episodes_.clear();
  for (const auto& [start, len] : m.episodes) episodes_.push_back({start, len});
  rng_ = rng;
  ClearStaged();
  if (weights_id_ >= 0) tree_.Build(std::span<const float>(w).first(static_cast<size_t>(size())));
}

}  // namespace rlforge::buffers
