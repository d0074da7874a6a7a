// Helper for npy_interop.py: `write DIR` saves a FlexibleBuffer whose every value follows from
// its step t; `check DIR` loads a folder written by NumPy and checks it against the same rule.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "rlforge/buffers/flexible_buffer.h"
#include "rlforge/core/error.h"

using namespace rlforge;
using namespace rlforge::buffers;

namespace {

constexpr int kAgents = 3;
constexpr int64_t kSteps = 6;

std::vector<FieldSpec> Schema() {
  return {{"obs", Scope::kPerAgent, {2}, DType::kFloat32},
          {"discrete_actions", Scope::kPerAgent, {2}, DType::kInt64},
          {"global_rewards", Scope::kGlobal, {}, DType::kFloat32},
          {"q", Scope::kPerAgent, {}, DType::kFloat64},
          {"img", Scope::kGlobal, {2, 2}, DType::kUInt8},
          {"counts", Scope::kGlobal, {}, DType::kInt32},
          {"memory_weights", Scope::kGlobal, {}, DType::kFloat32}};
}

void WriteStep(FlexibleBuffer& buf, int t) {
  std::vector<float> obs;
  std::vector<int64_t> act;
  std::vector<double> q;
  for (int a = 0; a < kAgents; ++a) {
    obs.insert(obs.end(), {a * 10.0f + t, t * 0.5f});
    act.insert(act.end(), {t % 3, a});
    q.push_back(t / 3.0 + a);
  }
  const float reward = t * 1.5f, weight = t + 1.0f;
  const uint8_t img[4] = {static_cast<uint8_t>(t * 4), static_cast<uint8_t>(t * 4 + 1),
                          static_cast<uint8_t>(t * 4 + 2), static_cast<uint8_t>(t * 4 + 3)};
  const int32_t count = -t;
  buf.Set("obs", obs);
  buf.Set("discrete_actions", act);
  buf.Set("q", q);
  buf.Set<float>("global_rewards", std::span<const float>(&reward, 1));
  buf.Set<uint8_t>("img", std::span<const uint8_t>(img, 4));
  buf.Set<int32_t>("counts", std::span<const int32_t>(&count, 1));
  buf.Set<float>("memory_weights", std::span<const float>(&weight, 1));
  buf.SaveTransition(t % 4 == 3, t == 5);
}

int Check(const std::string& dir) {
  FlexibleBuffer buf = FlexibleBuffer::Load(dir);
  if (buf.fields().size() != Schema().size() + 2 || buf.size() != 4 || buf.n_agents() != kAgents) {
    std::fprintf(stderr, "unexpected schema or size\n");
    return 1;
  }
  int bad = 0;
  Batch batch;
  buf.SampleTransitions(std::vector<int64_t>{0, 1, 2, 3}, &batch);
  for (int t = 0; t < 4; ++t) {  // rows 0..3 hold steps 0..3
    for (int a = 0; a < kAgents; ++a) {
      bad += batch["obs"].as<float>()[(a * 4 + t) * 2] != a * 10.0f + t;
      bad += batch["obs"].as<float>()[(a * 4 + t) * 2 + 1] != t * 0.5f;
      bad += batch["discrete_actions"].as<int64_t>()[(a * 4 + t) * 2] != t % 3;
      bad += batch["q"].as<double>()[a * 4 + t] != t / 3.0 + a;
    }
    bad += batch["global_rewards"].as<float>()[t] != t * 1.5f;
    bad += batch["img"].as<uint8_t>()[t * 4 + 3] != t * 4 + 3;
    bad += batch["counts"].as<int32_t>()[t] != -t;
    bad += batch["terminated"].as<bool>()[t] != (t == 3);
  }
  EpisodeBatch eps;
  buf.SampleEpisodes(100, 0, &eps);
  bad += eps.lengths != std::vector<int64_t>{4};
  buf.SampleTransitions(1, true, &batch);  // weights were loaded into the sampler
  std::printf("check: %d mismatches\n", bad);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s write|check DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string mode = argv[1], dir = argv[2];
    if (mode == "write") {
      FlexibleBuffer buf(kSteps, kAgents, Schema(), 0);
      for (int t = 0; t < 9; ++t) WriteStep(buf, t);
      buf.Save(dir);
      return 0;
    }
    if (mode == "check") return Check(dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 2;
}
