// The dense kernel's GEMM (nn::Gemm) against OpenBLAS's cblas_sgemm, one thread each, on the
// shapes the learners' updates use: forward (x Wt + b), weight gradient (x^T da, A transposed)
// and input gradient (da W). Prints JSON: per shape, GFLOP/s of both (median of 5 timed loops of
// at least 50 ms) and the largest difference of their results.
//
//   bash bench/dense.sh (writes bench/results/gemm.json)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "rlforge/nn/dense.h"

namespace {

struct Shape {
  std::string net;  // which learner and layer
  int64_t M, N, K;  // C (M x N) = A (M x K) B (K x N)
  bool a_transposed;
};

// GFLOP/s of `run` (2 M N K flops per call): median of 5 loops of at least 50 ms each.
double Rate(const Shape& s, const std::function<void()>& run) {
  const double flops = 2.0 * static_cast<double>(s.M * s.N * s.K);
  int calls = 1;
  for (;;) {  // calibrate: enough calls for 50 ms
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) run();
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > 0.05) break;
    calls *= 2;
  }
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(flops * calls / s / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

// Forward, weight-gradient and input-gradient GEMMs of an MLP in -> hidden... -> out on `batch`
// rows, as nn::DenseMlp calls them (widths padded to 8).
void AddNet(std::vector<Shape>& shapes, const std::string& name, int64_t batch,
            std::vector<int64_t> sizes) {
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t in = sizes[l], out = rlforge::nn::PadTo8(sizes[l + 1]);
    const std::string layer = name + " layer " + std::to_string(l);
    shapes.push_back({layer + " forward", batch, out, in, false});
    shapes.push_back({layer + " weight grad", in, out, batch, true});
    shapes.push_back({layer + " input grad", batch, rlforge::nn::PadTo8(in), sizes[l + 1], false});
  }
}

}  // namespace

int main() {
  std::vector<Shape> shapes;
  AddNet(shapes, "sac cleanrl critic", 256, {4, 256, 256, 1});  // Pendulum: obs 3 + action 1
  AddNet(shapes, "sac fast critic", 100, {4, 64, 64, 1});
  AddNet(shapes, "dqn cartpole", 128, {4, 120, 84, 2});
  AddNet(shapes, "ppo cartpole", 128, {4, 64, 64, 2});
  shapes.push_back({"square 256", 256, 256, 256, false});
  shapes.push_back({"square 512", 512, 512, 512, false});
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  nlohmann::json rows = nlohmann::json::array();
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.M * s.K)), b(static_cast<size_t>(s.K * s.N));
    std::vector<float> own(static_cast<size_t>(s.M * s.N)), blas(own.size());
    for (float& x : a) x = normal(rng);
    for (float& x : b) x = normal(rng);
    const int64_t a_m = s.a_transposed ? 1 : s.K, a_k = s.a_transposed ? s.M : 1;
    const double own_rate = Rate(s, [&] {
      rlforge::nn::Gemm(s.M, s.N, s.K, a.data(), a_m, a_k, b.data(), s.N, own.data(), s.N, nullptr,
                        false);
    });
    const double blas_rate = Rate(s, [&] {
      cblas_sgemm(CblasRowMajor, s.a_transposed ? CblasTrans : CblasNoTrans, CblasNoTrans,
                  static_cast<int>(s.M), static_cast<int>(s.N), static_cast<int>(s.K), 1.0f,
                  a.data(), static_cast<int>(s.a_transposed ? s.M : s.K), b.data(),
                  static_cast<int>(s.N), 0.0f, blas.data(), static_cast<int>(s.N));
    });
    double diff = 0.0;
    for (size_t i = 0; i < own.size(); ++i)
      diff = std::max<double>(diff, std::abs(own[i] - blas[i]));
    rows.push_back({{"shape", s.net},
                    {"M", s.M},
                    {"N", s.N},
                    {"K", s.K},
                    {"a_transposed", s.a_transposed},
                    {"own_gflops", std::round(own_rate * 10) / 10},
                    {"openblas_gflops", std::round(blas_rate * 10) / 10},
                    {"max_abs_difference", diff}});
  }
  const nlohmann::json out = {
      {"benchmark", "gemm"},
      {"note", "one thread each; GFLOP/s median of 5 loops of >= 50 ms; OPENBLAS_NUM_THREADS=1"},
      {"shapes", rows}};
  std::printf("%s\n", out.dump(1).c_str());
}
