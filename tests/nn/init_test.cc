// Initial weights drawn without LibTorch: torch.nn.init.orthogonal_'s definition.
#include <gtest/gtest.h>

#include <cmath>

#include "rlforge/nn/mlp.h"

namespace rlforge::nn {
namespace {

// max |(W W^T or W^T W) / gain^2 - I| over the smaller side.
double OrthonormalError(const std::vector<float>& w, int64_t rows, int64_t cols, double gain) {
  const bool wide = rows < cols;
  const int64_t k = wide ? rows : cols, m = wide ? cols : rows;
  double worst = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      double dot = 0.0;
      for (int64_t t = 0; t < m; ++t) {
        const double a = wide ? w[i * cols + t] : w[t * cols + i];
        const double b = wide ? w[j * cols + t] : w[t * cols + j];
        dot += a * b;
      }
      worst = std::max(worst, std::abs(dot / (gain * gain) - (i == j ? 1.0 : 0.0)));
    }
  }
  return worst;
}

TEST(Orthogonal, TallWideAndSquareMatricesAreOrthonormalTimesTheGain) {
  Rng rng(3);
  for (const auto [rows, cols] : {std::pair{64, 4}, {4, 64}, {64, 64}, {1, 7}, {120, 84}}) {
    for (const double gain : {1.0, std::sqrt(2.0), 0.01}) {
      const std::vector<float> w = Orthogonal(rows, cols, gain, rng);
      EXPECT_LT(OrthonormalError(w, rows, cols, gain), 1e-5) << rows << "x" << cols;
    }
  }
}

TEST(Orthogonal, TheSameGeneratorStateGivesTheSameMatrixAndAnotherDoesNot) {
  Rng a = StreamRng(1, 0), b = StreamRng(1, 0), c = StreamRng(2, 0), d = StreamRng(1, 1);
  const auto wa = Orthogonal(8, 5, 1.0, a);
  EXPECT_EQ(wa, Orthogonal(8, 5, 1.0, b));
  EXPECT_NE(wa, Orthogonal(8, 5, 1.0, c));
  EXPECT_NE(wa, Orthogonal(8, 5, 1.0, d));
  // a Gaussian, not a permutation: entries of both signs, none exactly +-1
  int positive = 0;
  for (const float x : wa) {
    positive += x > 0;
    EXPECT_LT(std::abs(x), 1.0f);
  }
  EXPECT_GT(positive, 5);
  EXPECT_LT(positive, 35);
}

TEST(Orthogonal, LayerInitPutsTheGainsAndZeroBiasesIntoTheNet) {
  DenseMlp net({4, 16, 3}, Activation::kTanh, 0);
  std::vector<float> params(static_cast<size_t>(net.num_parameters()), 1.0f);
  Rng rng(5);
  InitOrthogonal(net, params.data(), std::sqrt(2.0), 0.01, rng);
  NamedTensors t;
  ExportLayers(net, params.data(), "actor", &t);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].name, "actor.0.weight");
  EXPECT_EQ(t[2].name, "actor.2.weight");
  EXPECT_EQ(t[2].shape, (std::vector<int64_t>{3, 16}));
  EXPECT_LT(OrthonormalError(t[0].values, 16, 4, std::sqrt(2.0)), 1e-5);
  EXPECT_LT(OrthonormalError(t[2].values, 3, 16, 0.01), 1e-5);
  for (const float b : t[1].values) EXPECT_EQ(b, 0.0f);
  for (const float b : t[3].values) EXPECT_EQ(b, 0.0f);
}

TEST(LinearDefault, DrawsWithinOneOverSqrtFanIn) {
  DenseMlp net({9, 5}, Activation::kRelu, 0);
  std::vector<float> params(static_cast<size_t>(net.num_parameters()), 0.0f);
  Rng rng(1);
  InitLinearDefault(net, params.data(), rng);
  NamedTensors t;
  ExportLayers(net, params.data(), "q", &t);
  double max_abs = 0;
  for (const auto& x : t) {
    for (const float v : x.values) max_abs = std::max<double>(max_abs, std::abs(v));
  }
  EXPECT_LE(max_abs, 1.0 / 3.0);
  EXPECT_GT(max_abs, 0.2);  // the bound is reached approximately, not a constant
}

}  // namespace
}  // namespace rlforge::nn
