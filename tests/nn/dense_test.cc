// The hand-written dense kernels against plain loops: Gemm over every block shape and tail,
// tanh against std::tanh, and an MLP's backward pass against finite differences.
#include "rlforge/nn/dense.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace rlforge::nn {
namespace {

std::vector<float> Random(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(Dense, GemmMatchesLoopsForEveryShapeLayoutAndStart) {
  std::mt19937 rng(3);
  for (const int64_t M : {1, 2, 3, 4, 5, 7, 10, 11, 13}) {  // every remainder after blocks of 6
    for (const int64_t N : {8, 16, 24, 40}) {
      for (const int64_t K : {1, 4, 9}) {
        for (const bool transposed : {false, true}) {
          for (const int start : {0, 1, 2}) {  // zero, bias row, accumulate
            const int64_t a_m = transposed ? 1 : K, a_k = transposed ? M : 1;
            const int64_t ldb = N + 8, ldc = N + 16;
            const std::vector<float> a = Random(M * K, rng), b = Random(K * ldb, rng),
                                     bias = Random(N, rng);
            std::vector<float> c = Random(M * ldc, rng), expected = c;
            for (int64_t m = 0; m < M; ++m) {
              for (int64_t n = 0; n < N; ++n) {
                double sum = start == 2 ? c[m * ldc + n] : start == 1 ? bias[n] : 0.0;
                for (int64_t k = 0; k < K; ++k) sum += a[m * a_m + k * a_k] * b[k * ldb + n];
                expected[m * ldc + n] = static_cast<float>(sum);
              }
            }
            Gemm(M, N, K, a.data(), a_m, a_k, b.data(), ldb, c.data(), ldc,
                 start == 1 ? bias.data() : nullptr, start == 2);
            for (size_t i = 0; i < c.size(); ++i) {
              ASSERT_NEAR(c[i], expected[i], 1e-4)
                  << "M=" << M << " N=" << N << " K=" << K << " transposed=" << transposed
                  << " start=" << start << " at " << i;
            }
          }
        }
      }
    }
  }
}

TEST(Dense, TransposeCopiesEveryValueAndZeroesThePadding) {
  std::mt19937 rng(5);
  for (const auto& [rows, cols] : {std::pair{3, 5}, {8, 8}, {11, 19}, {64, 9}}) {
    const int64_t src_ld = cols + 3, dst_ld = PadTo8(rows);
    const std::vector<float> src = Random(rows * src_ld, rng);
    std::vector<float> dst = Random(cols * dst_ld, rng);  // stale values everywhere
    Transpose(src.data(), rows, cols, src_ld, dst.data(), dst_ld);
    for (int64_t o = 0; o < cols; ++o) {
      for (int64_t i = 0; i < dst_ld; ++i) {
        ASSERT_EQ(dst[o * dst_ld + i], i < rows ? src[i * src_ld + o] : 0.0f)
            << rows << "x" << cols << " at " << o << "," << i;
      }
    }
  }
}

TEST(Dense, TanhIsWithinAFewUlpOfStdTanh) {
  std::vector<float> x;
  for (int i = -20000; i <= 20000; ++i) x.push_back(static_cast<float>(i) * 5e-4f);
  for (const float v : {0.0f, -0.0f, 1e-5f, -3e-4f, 9.0f, -9.0f, 100.0f, -1e30f}) x.push_back(v);
  x.push_back(3.0f);  // a tail shorter than one vector
  std::vector<float> y = x;
  Tanh(y.data(), static_cast<int64_t>(y.size()));
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double expected = std::tanh(static_cast<double>(x[i]));
    worst = std::max(worst, std::abs(y[i] - expected) / std::max(std::abs(expected), 1e-30));
    ASSERT_LE(std::abs(y[i]), 1.0f) << x[i];
  }
  EXPECT_LT(worst, 5e-7);  // a few float ulp
}

// Loss = sum(y * weights); its gradient from Backward against central differences in double.
TEST(Dense, MlpBackwardMatchesFiniteDifferences) {
  for (const Activation f : {Activation::kTanh, Activation::kRelu}) {
    std::mt19937 rng(5);
    DenseMlp net({5, 11, 9, 3}, f, 4);  // parameters start at offset 4 of the flat block
    std::vector<float> params(4 + net.num_parameters(), 0.0f);
    for (size_t l = 0; l < net.layers().size(); ++l) {
      const auto& L = net.layers()[l];
      std::vector<float> w = Random(L.out * L.in, rng), b = Random(L.out, rng);
      for (float& v : w) v *= 0.5f;
      net.Import(params.data(), l, w.data(), b.data());
      std::vector<float> w2(w.size()), b2(b.size());
      net.Export(params.data(), l, w2.data(), b2.data());
      EXPECT_EQ(w, w2);
      EXPECT_EQ(b, b2);
    }
    const int64_t batch = 6, stride = 7;  // input rows of 5 floats, 7 apart
    const std::vector<float> x = Random(batch * stride, rng);
    const std::vector<float> weights = Random(batch * net.out_stride(), rng);
    auto loss = [&](const std::vector<float>& p) {
      const float* y = net.Forward(p.data(), x.data(), stride, batch);
      double sum = 0.0;
      for (int64_t r = 0; r < batch; ++r) {
        for (int64_t o = 0; o < 3; ++o)
          sum += y[r * net.out_stride() + o] * weights[r * net.out_stride() + o];
        for (int64_t o = 3; o < net.out_stride(); ++o) EXPECT_EQ(y[r * net.out_stride() + o], 0.0f);
      }
      return sum;
    };
    loss(params);
    std::vector<float> dy(weights);
    for (int64_t r = 0; r < batch; ++r) {
      for (int64_t o = 3; o < net.out_stride(); ++o) dy[r * net.out_stride() + o] = 0.0f;
    }
    std::vector<float> grads(params.size(), 0.0f);
    net.Backward(params.data(), dy.data(), grads.data());
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(grads[i], 0.0f);  // outside the net: untouched
    int checked = 0;
    auto check = [&](size_t i) {
      std::vector<float> plus = params, minus = params;
      const float h = 1e-2f;
      plus[i] += h, minus[i] -= h;
      const double numeric = (loss(plus) - loss(minus)) / (2 * h);
      EXPECT_NEAR(grads[i], numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << "parameter " << i;
      checked += grads[i] != 0.0f;
    };
    for (const auto& L : net.layers()) {
      for (int64_t o = 0; o < L.out_pad; ++o) {
        if (o >= L.out) {  // padding: no gradient
          for (int64_t i = 0; i < L.in; ++i) EXPECT_EQ(grads[L.wt + i * L.out_pad + o], 0.0f);
          EXPECT_EQ(grads[L.b + o], 0.0f);
          continue;
        }
        for (int64_t i = 0; i < L.in; ++i) check(L.wt + i * L.out_pad + o);
        check(L.b + o);
      }
    }
    EXPECT_GT(checked, 100);
  }
}

TEST(Dense, ClipGradNormScalesOnlyAboveTheLimit) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(ClipGradNorm(g.data(), 2, 10.0), 5.0);
  EXPECT_EQ(g, (std::vector<float>{3.0f, 4.0f}));
  EXPECT_DOUBLE_EQ(ClipGradNorm(g.data(), 2, 0.5), 5.0);
  EXPECT_NEAR(g[0], 0.3f, 1e-6);
  EXPECT_NEAR(g[1], 0.4f, 1e-6);
}

// Adam applied to ranges that cover the parameters (as threads split it) is Step, bit for bit.
TEST(Dense, AdamInRangesIsStepExactly) {
  std::mt19937 rng(8);
  const int64_t n = 1003;
  std::vector<float> whole = Random(n, rng), parts = whole;
  FlatAdam a(n, 1e-8), b(n, 1e-8);
  for (int step = 0; step < 3; ++step) {
    const std::vector<float> g = Random(n, rng);
    a.Step(whole.data(), g.data(), 1e-3);
    b.Begin(1e-3);
    for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{496, n}, {0, 8}, {8, 496}})
      b.Apply(parts.data(), g.data(), begin, end);
  }
  EXPECT_EQ(whole, parts);
  EXPECT_EQ(a.exp_avg(), b.exp_avg());
  EXPECT_EQ(a.exp_avg_sq(), b.exp_avg_sq());
  EXPECT_EQ(a.step(), b.step());
}

// Two "networks" in one flat block: [0, 2) and [2, 4) + [5, 6) (element 4 belongs to neither).
// By hand: the first Adam step is lr * g / (|g| + eps) = lr * sign(g) per element, so every
// update is lr; grad_norm is the norm before clipping, param_rms that of the new parameters.
TEST(Dense, OptimizerHealthOfEachNetworkByHand) {
  std::vector<float> p = {1.0f, -2.0f, 0.5f, 0.5f, 9.0f, -0.5f};
  std::vector<float> g = {3.0f, 4.0f, 0.0f, 12.0f, 1.0f, -5.0f};
  const double lr = 0.01, max_norm = 1.0;
  const std::vector<float> before = p;
  const double norm = ClipGradNorm(g.data(), 6, max_norm);
  EXPECT_DOUBLE_EQ(norm, std::sqrt(9.0 + 16 + 144 + 1 + 25));
  FlatAdam adam(6, 1e-8);
  EXPECT_EQ(adam.Health(p.data(), g.data(), {{0, 6}}).grad_norm, 0.0);  // no step yet
  adam.Step(p.data(), g.data(), lr);
  const double coef = ClipCoef(norm, max_norm);
  EXPECT_NEAR(coef, 1.0 / norm, 1e-6);

  const OptimizerHealth a = adam.Health(p.data(), g.data(), {{0, 2}}, coef);
  EXPECT_NEAR(a.grad_norm, 5.0, 1e-5);
  const double a_param =
      std::sqrt(((1 - lr) * (1 - lr) + (2 + lr) * (2 + lr)) / 2);  // 1, -2 move toward 0 and away
  EXPECT_NEAR(a.param_rms, a_param, 1e-6);
  EXPECT_NEAR(a.update_rms, lr, 1e-7);  // in float, as Step
  EXPECT_NEAR(a.update_ratio, lr / a_param, 1e-6);

  // g[2] = 0 takes no step: the update's RMS is over all three elements
  const OptimizerHealth b = adam.Health(p.data(), g.data(), {{2, 4}, {5, 6}}, coef);
  EXPECT_NEAR(b.grad_norm, 13.0, 1e-5);
  EXPECT_NEAR(b.param_rms,
              std::sqrt((0.25 + (0.5 - lr) * (0.5 - lr) + (0.5 - lr) * (0.5 - lr)) / 3), 1e-6);
  EXPECT_NEAR(b.update_rms, lr * std::sqrt(2.0 / 3.0), 1e-7);
  // the recomputed update is the one Step applied
  double applied = 0.0;
  for (const int i : {2, 3, 5}) applied += (before[i] - p[i]) * (before[i] - p[i]);
  EXPECT_NEAR(b.update_rms, std::sqrt(applied / 3), 1e-7);

  std::map<std::string, double> m;
  AddHealth(m, "critic", b);
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(m.at("opt/critic/update_ratio"), b.update_ratio);
  EXPECT_EQ(m.at("opt/critic/grad_norm"), b.grad_norm);
}

}  // namespace
}  // namespace rlforge::nn
