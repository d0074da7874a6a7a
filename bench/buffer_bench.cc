// FlexibleBuffer throughput, configurations A and B of the buffers issue (Flexibuff v0.1.5
// reference figures in bench/buffers.sh). Prints one JSON object; medians of --repeat runs.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "rlforge/buffers/flexible_buffer.h"
#include "rlforge/buffers/tensor.h"
#include "torch/torch.h"

using namespace rlforge;
using namespace rlforge::buffers;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kSteps = 100'000;
constexpr int64_t kEpisodeLength = 200;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

template <typename Fn>
double CallsPerSecond(int64_t calls, Fn&& fn) {
  const auto start = Clock::now();
  for (int64_t i = 0; i < calls; ++i) fn(i);
  return static_cast<double>(calls) / std::chrono::duration<double>(Clock::now() - start).count();
}

struct Config {
  std::string name;
  int agents;
  StandardFields fields;
};

// A has memory weights only for the weighted figure (a second buffer), as the issue defines it.
Config ConfigA() {
  StandardFields s;
  s.obs_size = 4;
  s.discrete_action_cardinalities = {2};
  s.global_reward = true;
  return {"A", 1, s};
}

Config ConfigB() {
  StandardFields s;
  s.obs_size = 32;
  s.state_size = 64;
  s.discrete_action_cardinalities = {3, 5};
  s.continuous_action_dimension = 4;
  s.action_mask = true;
  s.global_reward = s.global_auxiliary_reward = s.individual_reward =
      s.individual_auxiliary_reward = true;
  s.log_prob_discrete = true;
  s.log_prob_continuous = 2;
  s.memory_weights = true;
  return {"B", 4, s};
}

// Per-field value arrays for one transition (filled with a running value).
struct Staged {
  std::vector<std::vector<uint8_t>> values;  // per field bytes
  std::vector<int> ids;                      // fields staged by the caller (not the flags)
  std::vector<size_t> counts;                // values per field
  int weights = -1;
};

Staged MakeStaged(const FlexibleBuffer& buf) {
  Staged s;
  for (const auto& f : buf.fields()) {
    const size_t agents = f.scope == Scope::kPerAgent ? buf.n_agents() : 1;
    s.values.emplace_back(agents * f.row_bytes(), 0);
    s.counts.push_back(agents * static_cast<size_t>(f.elements()));
    if (f.name != "terminated" && f.name != "truncated")
      s.ids.push_back(static_cast<int>(s.values.size() - 1));
    if (f.name == "memory_weights") s.weights = static_cast<int>(s.values.size() - 1);
  }
  return s;
}

void SaveOne(FlexibleBuffer& buf, Staged& staged, int64_t step) {
  for (const int i : staged.ids) {
    const auto& f = buf.fields()[i];
    auto& v = staged.values[i];
    if (f.dtype == DType::kFloat32) {
      reinterpret_cast<float*>(v.data())[0] =
          i == staged.weights ? 1.0f + static_cast<float>(step % 7) : step;
    }
    buf.Set(i, v.data(), f.dtype, staged.counts[i]);
  }
  buf.SaveTransition((step + 1) % kEpisodeLength == 0);
}

nlohmann::json Run(const Config& c, int repeat, const std::string& dir) {
  std::vector<double> floor, save_tr, sample, sample_t, weighted, indexed, episodes, episode_views,
      save_ms, load_ms, load_new_ms;
  double megabytes = 0.0;
  for (int r = 0; r < repeat; ++r) {
    FlexibleBuffer buf(kSteps, c.agents, c.fields, static_cast<uint64_t>(r));
    Staged staged = MakeStaged(buf);
    save_tr.push_back(CallsPerSecond(kSteps, [&](int64_t i) { SaveOne(buf, staged, i); }));
    Batch batch;
    EpisodeBatch eps;
    std::vector<EpisodeView> views;
    sample.push_back(
        CallsPerSecond(2000, [&](int64_t) { buf.SampleTransitions(256, false, &batch); }));
    sample_t.push_back(CallsPerSecond(2000, [&](int64_t) {
      buf.SampleTransitions(256, false, &batch);
      auto tensors = ToTensors(batch);
      (void)tensors;
    }));
    std::optional<FlexibleBuffer> with_weights;
    FlexibleBuffer* weighted_buf = &buf;
    if (!c.fields.memory_weights) {
      StandardFields f = c.fields;
      f.memory_weights = true;
      with_weights.emplace(kSteps, c.agents, f, static_cast<uint64_t>(r));
      Staged w = MakeStaged(*with_weights);
      for (int64_t i = 0; i < kSteps; ++i) SaveOne(*with_weights, w, i);
      weighted_buf = &*with_weights;
    }
    weighted.push_back(
        CallsPerSecond(2000, [&](int64_t) { weighted_buf->SampleTransitions(256, true, &batch); }));
    with_weights.reset();
    Rng rng(r);
    std::vector<int64_t> rows(256);
    indexed.push_back(CallsPerSecond(20000, [&](int64_t) {
      for (auto& x : rows) x = rng.Integers(kSteps);
      buf.SampleTransitions(rows, &batch);
    }));
    // the memory's floor for a sample: 256 random whole records copied out, nothing else
    std::vector<uint8_t> copied(256 * buf.record_bytes());
    const uint8_t* records = buf.At(0, 0, 0);  // row 0's record: its first field
    for (size_t i = 0; i < buf.fields().size(); ++i)
      records = std::min(records, buf.At(static_cast<int>(i), 0, 0));
    floor.push_back(CallsPerSecond(20000, [&](int64_t) {
      for (size_t k = 0; k < 256; ++k)
        std::memcpy(copied.data() + k * buf.record_bytes(),
                    records + static_cast<size_t>(rng.Integers(kSteps)) * buf.record_bytes(),
                    buf.record_bytes());
    }));
    episodes.push_back(CallsPerSecond(5000, [&](int64_t) { buf.SampleEpisodes(1024, 0, &eps); }));
    episode_views.push_back(
        CallsPerSecond(20000, [&](int64_t) { buf.SampleEpisodeViews(1024, 0, &views); }));
    auto t0 = Clock::now();
    buf.Save(dir);
    save_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    buf.LoadInto(dir);  // resuming into a live buffer
    load_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    FlexibleBuffer loaded = FlexibleBuffer::Load(dir);  // a new buffer: allocation included
    load_new_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    megabytes = 0.0;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      megabytes += static_cast<double>(e.file_size()) / 1e6;
    std::filesystem::remove_all(dir);
  }
  return {{"config", c.name},
          {"save_transition_per_s", Median(save_tr)},
          {"sample_transitions_256_per_s", Median(sample)},
          {"sample_transitions_256_as_tensors_per_s", Median(sample_t)},
          {"weighted_sample_transitions_256_per_s", Median(weighted)},
          {"sample_transitions_256_given_indices_per_s", Median(indexed)},
          {"record_gather_256_per_s", Median(floor)},
          {"sample_episodes_1024_per_s", Median(episodes)},
          {"sample_episode_views_1024_per_s", Median(episode_views)},
          {"save_ms_fsync", Median(save_ms)},
          {"load_into_ms", Median(load_ms)},
          {"load_new_buffer_ms", Median(load_new_ms)},
          {"megabytes", megabytes}};
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  const int repeat = argc > 1 ? std::stoi(argv[1]) : 5;
  const std::string dir =
      (std::filesystem::temp_directory_path() / "rlforge_buffer_bench").string();
  nlohmann::json out = {{"benchmark", "flexible_buffer"}, {"repeat", repeat}, {"steps", kSteps}};
  const std::string only = argc > 2 ? argv[2] : "";  // "A" or "B" to run one configuration
  out["results"] = nlohmann::json::array();
  for (const Config& c : {ConfigA(), ConfigB()}) {
    if (only.empty() || only == c.name) out["results"].push_back(Run(c, repeat, dir));
  }
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
