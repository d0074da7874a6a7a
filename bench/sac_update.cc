// One SAC update (critic step, and on average one actor and one alpha step: CleanRL's
// policy_frequency 2 does two every second step) on a synthetic Pendulum batch: milliseconds per
// update and achieved GFLOP/s (the MLPs' multiply-adds, unpadded), with 1 and 2 training threads,
// at CleanRL's sizes (batch 256, [256, 256]) and the fast preset's (batch 100, [64, 64]); beside
// OpenBLAS's single-thread sgemm rate at 256 x 256 x 256 in the same run. Prints JSON.
//
//   bash bench/dense.sh (writes bench/results/sac_update.json)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "rlforge/algos/sac/sac.h"
#include "rlforge/nn/mlp.h"

namespace {

using rlforge::Space;
using rlforge::algos::Sac;
using rlforge::algos::SacConfig;

// 2 x multiply-adds of an MLP's forward on B rows; its backward costs the same for the weight
// gradients and the same again (less the first layer's) for the input gradients.
double Forward(const std::vector<int64_t>& sizes, int64_t B) {
  double f = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) f += 2.0 * B * sizes[l] * sizes[l + 1];
  return f;
}
double FirstLayer(const std::vector<int64_t>& sizes, int64_t B) {
  return 2.0 * B * sizes[0] * sizes[1];
}

// FLOPs of one Update call, averaged over two calls (policy_frequency 2).
double UpdateFlops(int64_t obs, int64_t act, const std::vector<int64_t>& hidden, int64_t B) {
  std::vector<int64_t> actor = {obs}, q = {obs + act};
  actor.insert(actor.end(), hidden.begin(), hidden.end());
  q.insert(q.end(), hidden.begin(), hidden.end());
  actor.push_back(2 * act), q.push_back(1);
  const double fa = Forward(actor, B), fq = Forward(q, B);
  // critic: pi(s'), Q1', Q2', Q1, Q2 forward; Q1, Q2 weight and input grads (no layer-0 input)
  const double critic = fa + 4 * fq + 2 * (2 * fq - FirstLayer(q, B));
  // actor: pi(s), Q1, Q2 forward; Q1, Q2 input grads (all layers); pi's weight and input grads
  const double actor_step = fa + 2 * fq + 2 * fq + (2 * fa - FirstLayer(actor, B));
  const double alpha = fa;  // a fresh pi(s) for the alpha loss
  return critic + actor_step + alpha;
}

struct Case {
  const char* name;
  int64_t batch;
  std::vector<int64_t> hidden;
};

nlohmann::json Measure(const Case& c, int threads) {
  rlforge::nn::SetTrainingThreads(threads);
  SacConfig config;
  config.batch_size = static_cast<int>(c.batch);
  config.hidden = c.hidden;
  Sac sac(config, Space::Box(-8, 8, {3}), Space::Box(-2, 2, {1}), 1);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  rlforge::buffers::Batch batch;
  auto field = [&](const char* name, std::vector<int64_t> shape, float scale, float offset) {
    auto& f = batch.fields.emplace_back();
    f.name = name;
    f.Resize(rlforge::DType::kFloat32, shape);
    float* v = f.as<float>();
    for (int64_t i = 0; i < f.numel(); ++i) v[i] = offset + scale * normal(rng);
  };
  field("obs", {c.batch, 3}, 1.0f, 0.0f);
  field("next_obs", {c.batch, 3}, 1.0f, 0.0f);
  field("continuous_actions", {c.batch, 1}, 0.5f, 0.0f);
  field("rewards", {c.batch}, 1.0f, -5.0f);
  field("discounts", {c.batch}, 0.0f, 0.99f);
  int64_t step = 0;
  for (int i = 0; i < 20; ++i) sac.Update(batch, ++step);  // warm-up
  std::vector<double> ms;
  for (int rep = 0; rep < 5; ++rep) {
    const int n = 200;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) sac.Update(batch, ++step);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        n);
  }
  std::sort(ms.begin(), ms.end());
  const double flops = UpdateFlops(3, 1, c.hidden, c.batch);
  return {{"case", c.name},
          {"threads", threads},
          {"batch", c.batch},
          {"hidden", c.hidden},
          {"ms_per_update", ms[2]},
          {"gflop_per_update", flops / 1e9},
          {"gflops", flops / (ms[2] * 1e-3) / 1e9}};
}

double SgemmRate() {
  const int n = 256;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const int calls = 400;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                  n, 0.0f, c.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(2.0 * n * n * n * calls / s / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

}  // namespace

int main() {
  nlohmann::json runs = nlohmann::json::array();
  for (const Case& c : {Case{"cleanrl", 256, {256, 256}}, Case{"fast", 100, {64, 64}}}) {
    for (int threads : {1, 2}) runs.push_back(Measure(c, threads));
  }
  const nlohmann::json out = {
      {"benchmark", "sac_update"},
      {"note",
       "ms per Update (median of 5 x 200), FLOPs = 2 x the MLPs' unpadded multiply-adds; "
       "OPENBLAS_NUM_THREADS=1"},
      {"openblas_sgemm_256_gflops_1thread", SgemmRate()},
      {"runs", runs}};
  std::printf("%s\n", out.dump(1).c_str());
}
