#include "rlforge/nn/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "rlforge/core/error.h"

// The kernels are compiled twice, for AVX2 + FMA and for baseline x86-64; the loader picks one.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RLFORGE_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RLFORGE_SIMD_CLONES
#endif

namespace rlforge::nn {
namespace {

using v8 = float __attribute__((vector_size(32)));
using v8u = float __attribute__((vector_size(32), aligned(4)));  // v8 at any float address

inline v8 Load(const float* p) { return *reinterpret_cast<const v8u*>(p); }
inline void Store(float* p, v8 v) { *reinterpret_cast<v8u*>(p) = v; }

// One R x 8V block of C: the accumulators stay in registers over the whole K loop.
template <int R, int V>
__attribute__((always_inline)) inline void Block(int64_t K, const float* a, int64_t a_m,
                                                 int64_t a_k, const float* b, int64_t ldb, float* c,
                                                 int64_t ldc, const float* bias, bool accumulate) {
  v8 acc[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) {
      acc[r][v] = accumulate ? Load(c + r * ldc + 8 * v) : bias ? Load(bias + 8 * v) : v8{};
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    v8 bk[V];
    for (int v = 0; v < V; ++v) bk[v] = Load(b + k * ldb + 8 * v);
    for (int r = 0; r < R; ++r) {
      const float s = a[r * a_m + k * a_k];
      for (int v = 0; v < V; ++v) acc[r][v] += s * bk[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) Store(c + r * ldc + 8 * v, acc[r][v]);
  }
}

template <int R>
__attribute__((always_inline)) inline void Row(int64_t N, int64_t K, const float* a, int64_t a_m,
                                               int64_t a_k, const float* b, int64_t ldb, float* c,
                                               int64_t ldc, const float* bias, bool accumulate) {
  int64_t n = 0;
  for (; n + 16 <= N; n += 16) {
    Block<R, 2>(K, a, a_m, a_k, b + n, ldb, c + n, ldc, bias ? bias + n : nullptr, accumulate);
  }
  if (n < N)
    Block<R, 1>(K, a, a_m, a_k, b + n, ldb, c + n, ldc, bias ? bias + n : nullptr, accumulate);
}

inline v8 TanhOf(v8 x) {
  // Eigen's generic_fast_tanh_float: odd 13th-degree over even 6th-degree polynomial in x,
  // clamped where it reaches exactly +-1, and tanh(x) = x near 0.
  const v8 t = x < -7.99881172180175781f  ? -7.99881172180175781f + v8{}
               : x > 7.99881172180175781f ? 7.99881172180175781f + v8{}
                                          : x;
  const v8 t2 = t * t;
  v8 p = t2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = t2 * p + -8.60467152213735e-11f;
  p = t2 * p + 5.12229709037114e-08f;
  p = t2 * p + 1.48572235717979e-05f;
  p = t2 * p + 6.37261928875436e-04f;
  p = t2 * p + 4.89352455891786e-03f;
  p = t * p;
  v8 q = t2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = t2 * q + 2.26843463243900e-03f;
  q = t2 * q + 4.89352518554385e-03f;
  const v8 ax = x < 0.0f ? -x : x;
  return ax < 0.0004f ? x : p / q;
}

RLFORGE_SIMD_CLONES
void Relu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

RLFORGE_SIMD_CLONES
void LeakyRelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : kLeakySlope * x[i];
}

// da = dh * f'(pre-activation), written in terms of the activation's output h
RLFORGE_SIMD_CLONES
void ActivationGrad(Activation f, const float* h, const float* dh, float* da, int64_t n) {
  if (f == Activation::kTanh) {
    for (int64_t i = 0; i < n; ++i) da[i] = dh[i] * (1.0f - h[i] * h[i]);
  } else if (f == Activation::kLeakyRelu) {
    for (int64_t i = 0; i < n; ++i) da[i] = h[i] > 0.0f ? dh[i] : kLeakySlope * dh[i];
  } else {
    for (int64_t i = 0; i < n; ++i) da[i] = h[i] > 0.0f ? dh[i] : 0.0f;
  }
}

// out (cols) += sum over the rows of a (rows x cols)
RLFORGE_SIMD_CLONES
void AddColumnSums(const float* a, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c] += a[r * cols + c];
  }
}

RLFORGE_SIMD_CLONES
void AdamUpdate(float* p, const float* g, float* m, float* v, int64_t n, float b1, float b2,
                float step_size, float bias2_sqrt, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] = m[i] * b1 + g[i] * (1.0f - b1);
    v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bias2_sqrt + eps);
  }
}

// sum of squares in double, eight independent partial sums (vectorizable, fixed order)
RLFORGE_SIMD_CLONES
double SumSquares(const float* g, int64_t n) {
  double part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) part[j] += static_cast<double>(g[i + j]) * g[i + j];
  }
  for (; i < n; ++i) part[0] += static_cast<double>(g[i]) * g[i];
  double sum = 0.0;
  for (const double s : part) sum += s;
  return sum;
}

RLFORGE_SIMD_CLONES
void ScaleBy(float* g, int64_t n, float c) {
  for (int64_t i = 0; i < n; ++i) g[i] *= c;
}

}  // namespace

RLFORGE_SIMD_CLONES
void Gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_m, int64_t a_k, const float* b,
          int64_t ldb, float* c, int64_t ldc, const float* bias, bool accumulate) {
  int64_t m = 0;
  // With A transposed (a weight gradient, x^T da) the R rows of a block sit at every k in one
  // scattered line: copied into a k-major panel (K x R) first, as R x K reads against the block's
  // 2 R N K flops, so that the panel and B's columns stay in L1 together.
  const bool pack = a_m == 1 && a_k > 8 && N >= 128;
  thread_local std::vector<float> panel;  // the block's rows of A, k-major   (K x 8)
  if (pack && static_cast<int64_t>(panel.size()) < K * 8) panel.resize(static_cast<size_t>(K * 8));
  auto rows = [&](auto r) {  // r rows of C from row m on
    constexpr int R = decltype(r)::value;
    const float* rows_a = a + m * a_m;
    int64_t row_m = a_m, row_k = a_k;
    if (pack) {
      for (int64_t k = 0; k < K; ++k)
        for (int i = 0; i < R; ++i) panel[k * R + i] = rows_a[k * a_k + i];
      rows_a = panel.data(), row_m = 1, row_k = R;
    }
    if constexpr (R == 8) {  // one column of vectors (an output layer): 8 FMAs in flight
      Block<8, 1>(K, rows_a, row_m, row_k, b, ldb, c + m * ldc, ldc, bias, accumulate);
    } else {
      Row<R>(N, K, rows_a, row_m, row_k, b, ldb, c + m * ldc, ldc, bias, accumulate);
    }
    m += R;
  };
  while (N == 8 && M - m >= 8) rows(std::integral_constant<int, 8>{});
  while (M - m >= 6) rows(std::integral_constant<int, 6>{});
  // the rest in one block where it fits (batches of 100 and 256 leave 4)
  if (M - m == 5) rows(std::integral_constant<int, 5>{});
  if (M - m == 4) rows(std::integral_constant<int, 4>{});
  if (M - m == 3) rows(std::integral_constant<int, 3>{});
  if (M - m == 2) rows(std::integral_constant<int, 2>{});
  if (M - m == 1) rows(std::integral_constant<int, 1>{});
}

void Transpose(const float* src, int64_t rows, int64_t cols, int64_t src_ld, float* dst,
               int64_t dst_ld) {
  for (int64_t i0 = 0; i0 < rows; i0 += 8) {
    for (int64_t o0 = 0; o0 < cols; o0 += 8) {
      const int64_t i1 = std::min(i0 + 8, rows), o1 = std::min(o0 + 8, cols);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t o = o0; o < o1; ++o) dst[o * dst_ld + i] = src[i * src_ld + o];
    }
  }
  for (int64_t o = 0; o < cols; ++o)
    std::fill(dst + o * dst_ld + rows, dst + (o + 1) * dst_ld, 0.0f);
}

RLFORGE_SIMD_CLONES
void Tanh(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) Store(x + i, TanhOf(Load(x + i)));
  if (i < n) {
    float tail[8] = {};
    std::memcpy(tail, x + i, sizeof(float) * (n - i));
    Store(tail, TanhOf(Load(tail)));
    std::memcpy(x + i, tail, sizeof(float) * (n - i));
  }
}

void LayerNorm(const float* x, int64_t x_stride, int64_t rows, int64_t n, const float* g,
               const float* b, float* y, float* xhat, float* rstd, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * x_stride;
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < n; ++j) mean += in[j];
    mean /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j) var += (in[j] - mean) * (in[j] - mean);
    const auto rs = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(n) + 1e-5));
    rstd[r] = rs;
    for (int64_t j = 0; j < n; ++j) {
      const float h = static_cast<float>(in[j] - mean) * rs;
      xhat[r * stride + j] = h;
      y[r * stride + j] = h * g[j] + b[j];
    }
  }
}

void LayerNormBackward(const float* dy, const float* xhat, const float* rstd, int64_t rows,
                       int64_t n, const float* g, float* dx, float* dg, float* db, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* d = dy + r * stride;
    const float* h = xhat + r * stride;
    double mean_d = 0.0, mean_dh = 0.0;  // of dxhat and of dxhat xhat
    for (int64_t j = 0; j < n; ++j) {
      mean_d += d[j] * g[j];
      mean_dh += d[j] * g[j] * h[j];
      if (dg != nullptr) dg[j] += d[j] * h[j], db[j] += d[j];
    }
    mean_d /= static_cast<double>(n), mean_dh /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j)
      dx[r * stride + j] = static_cast<float>(rstd[r] * (d[j] * g[j] - mean_d - h[j] * mean_dh));
    std::fill(dx + r * stride + n, dx + (r + 1) * stride, 0.0f);  // padding
  }
}

Activation ParseActivation(const std::string& name) {
  if (name == "tanh") return Activation::kTanh;
  if (name == "relu") return Activation::kRelu;
  if (name == "leaky_relu") return Activation::kLeakyRelu;
  throw Error("activation: expected tanh or relu, got \"" + name + "\"");
}

DenseMlp::DenseMlp(const std::vector<int64_t>& sizes, Activation activation, int64_t offset,
                   bool layer_norm)
    : activation_(activation) {
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    Layer layer{sizes[l], sizes[l + 1], PadTo8(sizes[l + 1]), 0, 0};
    layer.wt = offset + size_;
    layer.b = layer.wt + layer.in * layer.out_pad;
    size_ += layer.in * layer.out_pad + layer.out_pad;
    layers_.push_back(layer);
  }
  for (size_t k = 0; layer_norm && k + 1 < sizes.size(); ++k) {  // the input, then hidden layers
    const int64_t n = sizes[k], pad = PadTo8(n);
    norms_.push_back({n, pad, offset + size_, offset + size_ + pad});
    size_ += 2 * pad;
  }
  h_.resize(layers_.size());
  y_.resize(norms_.size()), xhat_.resize(norms_.size()), rstd_.resize(norms_.size());
}

void DenseMlp::Import(float* params, size_t l, const float* w, const float* b) const {
  const Layer& L = layers_[l];
  std::fill(params + L.wt, params + L.b + L.out_pad, 0.0f);
  for (int64_t o = 0; o < L.out; ++o) {
    for (int64_t i = 0; i < L.in; ++i) params[L.wt + i * L.out_pad + o] = w[o * L.in + i];
    params[L.b + o] = b[o];
  }
}

void DenseMlp::Export(const float* params, size_t l, float* w, float* b) const {
  const Layer& L = layers_[l];
  for (int64_t o = 0; o < L.out; ++o) {
    for (int64_t i = 0; i < L.in; ++i) w[o * L.in + i] = params[L.wt + i * L.out_pad + o];
    b[o] = params[L.b + o];
  }
}

void DenseMlp::Reserve(int64_t batch) {
  if (batch <= capacity_) return;
  int64_t widest = 0, largest_w = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    h_[l].assign(static_cast<size_t>(batch * layers_[l].out_pad), 0.0f);
    widest = std::max(widest, layers_[l].out_pad);
    largest_w = std::max(largest_w, layers_[l].out * PadTo8(layers_[l].in));
  }
  w_.resize(static_cast<size_t>(largest_w));
  for (size_t k = 0; k < norms_.size(); ++k) {
    y_[k].assign(static_cast<size_t>(batch * norms_[k].pad), 0.0f);
    xhat_[k].assign(static_cast<size_t>(batch * norms_[k].pad), 0.0f);
    rstd_[k].assign(static_cast<size_t>(batch), 0.0f);
    widest = std::max(widest, norms_[k].pad);
  }
  dh_.assign(static_cast<size_t>(batch * widest), 0.0f);
  da_.assign(static_cast<size_t>(batch * widest), 0.0f);
  if (!norms_.empty()) dn_.assign(static_cast<size_t>(batch * widest), 0.0f);
  capacity_ = batch;
}

const float* DenseMlp::Forward(const float* params, const float* x, int64_t x_stride,
                               int64_t batch) {
  Reserve(batch);
  x_ = x, x_stride_ = x_stride, batch_ = batch;
  const float* in = x;
  int64_t in_stride = x_stride;
  // with layer_norm, norm k's output feeds layer k
  auto normalize = [&](size_t k) {
    const Norm& N = norms_[k];
    LayerNorm(in, in_stride, batch, N.n, params + N.g, params + N.b, y_[k].data(), xhat_[k].data(),
              rstd_[k].data(), N.pad);
    in = y_[k].data(), in_stride = N.pad;
  };
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (l < norms_.size()) normalize(l);
    const Layer& L = layers_[l];
    float* h = h_[l].data();
    // h = in Wt + b, then the activation between layers
    Gemm(batch, L.out_pad, L.in, in, in_stride, 1, params + L.wt, L.out_pad, h, L.out_pad,
         params + L.b, false);
    if (l + 1 < layers_.size()) {
      if (activation_ == Activation::kTanh) {
        Tanh(h, batch * L.out_pad);
      } else if (activation_ == Activation::kLeakyRelu) {
        LeakyRelu(h, batch * L.out_pad);
      } else {
        Relu(h, batch * L.out_pad);
      }
    }
    in = h, in_stride = L.out_pad;
  }
  return h_.back().data();
}

void DenseMlp::Backward(const float* params, const float* dy, float* grads, float* dx) {
  const int64_t B = batch_;
  const float* da = dy;  // d loss / d pre-activation of layer l   (B x out_pad)
  const bool normed = !norms_.empty();
  for (size_t l = layers_.size(); l-- > 0;) {
    const Layer& L = layers_[l];
    if (grads != nullptr) {  // dWt += in^T da ; db += column sums of da
      const float* in = normed ? y_[l].data() : l == 0 ? x_ : h_[l - 1].data();
      const int64_t in_stride = normed   ? norms_[l].pad
                                : l == 0 ? x_stride_
                                         : layers_[l - 1].out_pad;
      Gemm(L.in, L.out_pad, B, in, 1, in_stride, da, L.out_pad, grads + L.wt, L.out_pad, nullptr,
           true);
      AddColumnSums(da, B, L.out_pad, grads + L.b);
    }
    // the input norm's gradients need d loss / d (layer 0's input) too
    if (l == 0 && dx == nullptr && !(normed && grads != nullptr)) break;
    // d loss / d input = da W, with W (out x in_pad) the transpose of Wt
    const int64_t in_pad = PadTo8(L.in);
    Transpose(params + L.wt, L.in, L.out, L.out_pad, w_.data(), in_pad);
    float* d_in = l == 0 && !normed ? dx : dh_.data();
    Gemm(B, in_pad, L.out, da, L.out_pad, 1, w_.data(), in_pad, d_in, in_pad, nullptr, false);
    const float* d_out = d_in;  // d loss / d the previous layer's activation (or the input)
    if (normed) {               // back through norm l
      const Norm& N = norms_[l];
      float* d_norm_in = l == 0 && dx != nullptr ? dx : dn_.data();
      LayerNormBackward(d_in, xhat_[l].data(), rstd_[l].data(), B, N.n, params + N.g, d_norm_in,
                        grads != nullptr ? grads + N.g : nullptr,
                        grads != nullptr ? grads + N.b : nullptr, N.pad);
      d_out = d_norm_in;
    }
    if (l == 0) break;
    // through the activation, from its output h: tanh' = 1 - h^2, relu' = [h > 0] (or 0.01)
    ActivationGrad(activation_, h_[l - 1].data(), d_out, da_.data(), B * in_pad);
    da = da_.data();
  }
}

FlatAdam::FlatAdam(int64_t size, double eps, double beta1, double beta2)
    : m_(static_cast<size_t>(size), 0.0f),
      v_(static_cast<size_t>(size), 0.0f),
      eps_(eps),
      beta1_(beta1),
      beta2_(beta2) {}

void FlatAdam::Step(float* params, const float* grads, double lr) {
  Begin(lr);
  Apply(params, grads, 0, static_cast<int64_t>(m_.size()));
}

void FlatAdam::Begin(double lr) {
  ++step_;
  lr_ = lr;
}

void FlatAdam::Apply(float* params, const float* grads, int64_t begin, int64_t end) {
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  AdamUpdate(params + begin, grads + begin, m_.data() + begin, v_.data() + begin, end - begin,
             static_cast<float>(beta1_), static_cast<float>(beta2_),
             static_cast<float>(lr_ / bias1), static_cast<float>(std::sqrt(bias2)),
             static_cast<float>(eps_));
}

OptimizerHealth FlatAdam::Health(const float* params, const float* grads,
                                 std::initializer_list<Range> ranges, double clip_coef) const {
  OptimizerHealth h;
  if (step_ == 0) return h;
  // the step Step took: lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps), in Step's floats
  const double t = static_cast<double>(step_);
  const auto step_size = static_cast<float>(lr_ / (1.0 - std::pow(beta1_, t)));
  const auto bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2_, t)));
  const auto eps = static_cast<float>(eps_);
  double grad_sq = 0.0, param_sq = 0.0, update_sq = 0.0, count = 0.0;
  for (const auto& [begin, end] : ranges) {
    grad_sq += SumSquares(grads + begin, end - begin);
    param_sq += SumSquares(params + begin, end - begin);
    for (int64_t i = begin; i < end; ++i) {
      const float u = step_size * m_[i] / (std::sqrt(v_[i]) / bias2_sqrt + eps);
      update_sq += static_cast<double>(u) * u;
    }
    count += static_cast<double>(end - begin);
  }
  if (count == 0.0) return h;
  h.grad_norm = std::sqrt(grad_sq) / clip_coef;
  h.param_rms = std::sqrt(param_sq / count);
  h.update_rms = std::sqrt(update_sq / count);
  h.update_ratio = h.param_rms > 0.0 ? h.update_rms / h.param_rms : 0.0;
  return h;
}

void AddHealth(std::map<std::string, double>& metrics, const std::string& net,
               const OptimizerHealth& h) {
  const std::string prefix = "opt/" + net + "/";
  metrics[prefix + "grad_norm"] = h.grad_norm;
  metrics[prefix + "param_rms"] = h.param_rms;
  metrics[prefix + "update_rms"] = h.update_rms;
  metrics[prefix + "update_ratio"] = h.update_ratio;
}

double ClipCoef(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + 1e-6)); }

double ClipGradNorm(float* grads, int64_t n, double max_norm) {
  const double norm = std::sqrt(SumSquares(grads, n));
  const double coef = ClipCoef(norm, max_norm);
  if (coef < 1.0) ScaleBy(grads, n, static_cast<float>(coef));
  return norm;
}

}  // namespace rlforge::nn
