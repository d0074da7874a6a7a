// Seconds per DreamerV3 gradient step on random data of CartPole's shapes (vector observations,
// 2 discrete actions) or, with --image S, of CarRacing's (S x S x 3 frames, 3 continuous
// actions), split into world model (observe + loss), imagination + actor-critic losses, and
// backward + optimizer. Prints one JSON object. Usage:
//   bench_dreamer_update [--threads N] [--updates N] [--image S] [--profile TRACE.json]
//                        [--set dreamer.k=v ...]
// --profile records one more update with LibTorch's profiler (a chrome trace: every op, its time).
// --set dreamer.device=cuda times the update on the GPU (each phase ends with a device sync).
// It needs only the model library (the minimal build: no trainer, no rendering).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rlforge/algos/dreamer/agent.h"
#include "rlforge/core/config.h"

namespace {

bool on_cuda = false;  // phases end with a device sync, so that their times are the GPU's

double Now() {
  if (on_cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The dreamer section from "dreamer.key=value" overrides, checked like a run's config.
rlforge::algos::DreamerConfig LoadDreamer(const std::vector<std::string>& sets) {
  using namespace rlforge;
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& s : sets) {
    if (s.rfind("dreamer.", 0) != 0) throw Error("--set " + s + ": expected dreamer.KEY=VALUE");
    config::ApplyOverride(root, s);
  }
  algos::DreamerConfig c;
  config::Reader reader(root, "");
  reader.Section("dreamer", c, "DreamerV3");
  reader.Finish();
  c.Validate();
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rlforge;
  int threads = 1, updates = 5;
  int64_t obs_dim = 4, act_dim = 2, image = 0;
  std::vector<std::string> sets;
  std::string profile;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--updates")) updates = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--image")) image = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--set")) sets.push_back(argv[i + 1]);
    if (!std::strcmp(argv[i], "--profile")) profile = argv[i + 1];
  }
  dreamer::SetComputeThreads(threads);
  dreamer::KeepFreedMemory();
  if (image > 0) act_dim = 3;
  const dreamer::ObsLayout layout =
      image > 0 ? dreamer::ObsLayout{.height = image, .width = image, .channels = 3}
                : dreamer::ObsLayout{.vector = obs_dim};
  algos::DreamerConfig c;
  std::optional<dreamer::Agent> made;
  try {
    c = LoadDreamer(sets);
    made.emplace(c, layout, act_dim, /*discrete=*/image == 0, 1);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_dreamer_update: %s\n", e.what());
    return 2;
  }
  dreamer::Agent& agent = *made;
  on_cuda = c.device == "cuda";
  const int64_t B = c.batch_size, T = c.batch_length;
  const torch::Tensor actions =
      image > 0 ? torch::rand({B, T, act_dim}) * 2 - 1
                : torch::one_hot(torch::randint(act_dim, {B, T}), act_dim).to(torch::kFloat32);
  dreamer::Sequences d{
      image > 0 ? torch::Tensor() : torch::randn({B, T, obs_dim}),
      actions,
      torch::ones({B, T}),
      torch::zeros({B, T}),
      torch::zeros({B, T}),
      torch::zeros({B, T}),
      image > 0 ? torch::randint(0, 256, {B, T, image, image, 3}, torch::kUInt8) : torch::Tensor()};
  std::vector<double> wm, imag, step, total;
  for (int u = 0; u < updates + 1; ++u) {
    const double t0 = Now();
    auto o = agent.Observe(d);
    const double t1 = Now();
    const int64_t K = c.imag_last > 0 ? c.imag_last : T;
    auto im = agent.ImagineLoss(
        o.deter.slice(1, T - K).reshape({B * K, -1}),
        o.stoch.slice(1, T - K).reshape({B * K, o.stoch.size(2), o.stoch.size(3)}));
    const double t2 = Now();
    (o.loss + im.policy_loss + im.value_loss).backward();
    const double t3 = Now();
    if (u == 0) continue;  // warm-up
    wm.push_back(t1 - t0);
    imag.push_back(t2 - t1);
    step.push_back(t3 - t2);
    const double t4 = Now();
    agent.Train(d);
    total.push_back(Now() - t4);
  }
  if (!profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(profile);
    agent.Train(d);
  }
  const auto s = c.Size();
  int64_t params = 0;
  const io::TensorDict all = agent.Parameters();
  for (const auto& [name, t] : all.tensors())
    if (name.rfind("slow_critic", 0) != 0) params += t.numel();
  nlohmann::json j = {
      {"size", c.size},
      {"observations",
       image > 0 ? std::to_string(image) + "x" + std::to_string(image) + "x3 images" : "vectors"},
      {"cnn", c.cnn},
      {"deter", s.deter},
      {"batch", B},
      {"length", T},
      {"imag_horizon", c.imag_horizon},
      {"imag_starts", B * (c.imag_last > 0 ? c.imag_last : T)},
      {"threads", threads},
      {"device", c.device},
      {"parameters", params},
      {"seconds_per_update", Median(total)},
      {"world_model_forward_s", Median(wm)},
      {"imagination_and_ac_forward_s", Median(imag)},
      {"backward_s", Median(step)},
      {"updates_timed", updates}};
  std::printf("%s\n", j.dump(2).c_str());
}
