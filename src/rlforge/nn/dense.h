// Small fully connected networks on plain float arrays, with their gradients and Adam, without
// LibTorch. The policies of classic control are a few 64-wide layers: LibTorch spends ~5 us
// dispatching each operation, more than the math of a 128-row minibatch, so PPO computes them
// here. Every activation row is padded to a multiple of 8 floats (one AVX register); padded
// columns hold zeros, and so do the weights and gradients that map to them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlforge::nn {

constexpr int64_t PadTo8(int64_t n) { return (n + 7) / 8 * 8; }

// C (M x N) = start + sum_k A(m, k) B(k, n), where A(m, k) = a[m * a_m + k * a_k] (so A can be a
// transposed view), B is row-major with ldb floats per row, N is a multiple of 8, and start is C
// itself if `accumulate`, else the row `bias` (N) if given, else 0.
void Gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_m, int64_t a_k, const float* b,
          int64_t ldb, float* c, int64_t ldc, const float* bias, bool accumulate);

// dst (cols x dst_ld) = the transpose of src (rows x cols, src_ld floats a row), copied in 8 x 8
// tiles; dst's columns rows..dst_ld are set to 0.
void Transpose(const float* src, int64_t rows, int64_t cols, int64_t src_ld, float* dst,
               int64_t dst_ld);

// x <- tanh(x) elementwise: Eigen's 13/6 rational approximation (a few ulp from std::tanh).
void Tanh(float* x, int64_t n);

// torch.nn.LayerNorm over the first n of each row's values (eps 1e-5): y = xhat g + b with
// xhat = (x - mean) / sqrt(var + eps); keeps xhat and 1 / sqrt(var + eps) for the backward.
// Rows are `stride` floats apart; the n..stride padding of y and xhat is left as it is.
void LayerNorm(const float* x, int64_t x_stride, int64_t rows, int64_t n, const float* g,
               const float* b, float* y, float* xhat, float* rstd, int64_t stride);
// Its backward: dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) with dxhat = dy g, and
// if `dg` is given dg += sum over rows of dy xhat, db += sum of dy. dx's padding is set to 0.
void LayerNormBackward(const float* dy, const float* xhat, const float* rstd, int64_t rows,
                       int64_t n, const float* g, float* dx, float* dg, float* db, int64_t stride);

// Between layers: tanh, ReLU, or LeakyReLU with PyTorch's default slope 0.01.
enum class Activation { kTanh, kRelu, kLeakyRelu };
constexpr float kLeakySlope = 0.01f;
Activation ParseActivation(const std::string& name);  // "tanh" | "relu" | "leaky_relu"

// An MLP in -> hidden... -> out whose parameters live in a flat array owned by the caller, so
// several nets share one gradient buffer and one Adam step. Layer l holds, at its offsets,
// Wt (in x out_pad: the transpose of torch's Linear weight, padded columns 0) and b (out_pad).
// With layer_norm, LayerNorms (as on-policy's MLPBase with use_feature_normalization) normalize
// the input and each hidden layer's activation: norm 0 is the input's, norm l + 1 follows layer l.
class DenseMlp {
 public:
  struct Layer {
    int64_t in, out, out_pad;  // sizes; out_pad = PadTo8(out)
    int64_t wt, b;             // offsets of Wt and b in the flat parameters
  };
  struct Norm {
    int64_t n, pad;  // normalized width and its padding to 8
    int64_t g, b;    // offsets of the gain and bias (pad each, padding 0)
  };

  DenseMlp() = default;
  // Lays the layers (then the norms) out from `offset` on; num_parameters() floats follow.
  DenseMlp(const std::vector<int64_t>& sizes, Activation activation, int64_t offset,
           bool layer_norm = false);

  int64_t num_parameters() const { return size_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<Norm>& norms() const { return norms_; }  // empty without layer_norm
  int64_t out_stride() const { return layers_.back().out_pad; }

  // Copies layer l between the flat parameters and torch's layout: w (out x in), b (out).
  void Import(float* params, size_t l, const float* w, const float* b) const;
  void Export(const float* params, size_t l, float* w, float* b) const;

  // y (batch x out_stride) = net(x), x being batch rows of `in` floats, x_stride apart. Keeps the
  // activations (and x) for Backward; the result lives until the next Forward.
  const float* Forward(const float* params, const float* x, int64_t x_stride, int64_t batch);
  // grads += d loss / d params given dy = d loss / d y (batch x out_stride) of the last Forward;
  // with dx, also d loss / d x into dx (batch x PadTo8(in)). Either may be null.
  void Backward(const float* params, const float* dy, float* grads, float* dx = nullptr);

 private:
  void Reserve(int64_t batch);

  std::vector<Layer> layers_;
  std::vector<Norm> norms_;
  Activation activation_ = Activation::kTanh;
  int64_t size_ = 0;
  int64_t capacity_ = 0;               // rows the scratch below holds
  std::vector<std::vector<float>> h_;  // output of layer l, last Forward   (batch x out_pad)
  // with layer_norm, of norm k (0: the input, l + 1: after layer l), last Forward
  std::vector<std::vector<float>> y_;     // its output, the next layer's input   (batch x pad)
  std::vector<std::vector<float>> xhat_;  // normalized values                    (batch x pad)
  std::vector<std::vector<float>> rstd_;  // 1 / sqrt(var + eps) per row          (batch)
  std::vector<float> dn_;                 // d loss / d a norm's input    (batch x width_pad)
  std::vector<float> w_;        // W of one layer, torch layout      (out x in_pad, the largest)
  std::vector<float> dh_, da_;  // d loss / d layer output, pre-act  (batch x width_pad)
  const float* x_ = nullptr;    // input of the last Forward         (batch x x_stride)
  int64_t x_stride_ = 0, batch_ = 0;
};

// What one optimizer step did to one network (DreamerV3's opt/ metrics, per network).
struct OptimizerHealth {
  double grad_norm = 0.0;     // L2 norm of the gradient before clipping
  double param_rms = 0.0;     // sqrt(mean(p^2)) after the step
  double update_rms = 0.0;    // sqrt(mean(step^2)) of the step just taken
  double update_ratio = 0.0;  // update_rms / param_rms (healthy: around 1e-3)
};
// opt/<net>/{grad_norm,param_rms,update_rms,update_ratio} into metrics.
void AddHealth(std::map<std::string, double>& metrics, const std::string& net,
               const OptimizerHealth& h);

// Adam exactly as torch.optim.Adam (no weight decay, no amsgrad) over a flat parameter array.
class FlatAdam {
 public:
  using Range = std::pair<int64_t, int64_t>;  // [begin, end) of the flat parameters

  FlatAdam() = default;
  FlatAdam(int64_t size, double eps, double beta1 = 0.9, double beta2 = 0.999);
  void Step(float* params, const float* grads, double lr);
  // The same step in parts (e.g. one range per thread): Begin once, then Apply to ranges that
  // cover [0, size) once each. Every element's arithmetic is Step's, so the split changes nothing.
  void Begin(double lr);
  void Apply(float* params, const float* grads, int64_t begin, int64_t end);
  // The health of the network in `ranges` after the last Step(params, grads, lr), its step
  // recomputed from the moments; clip_coef is what clipping scaled grads by (ClipCoef; 1: none).
  OptimizerHealth Health(const float* params, const float* grads,
                         std::initializer_list<Range> ranges, double clip_coef = 1.0) const;

  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  int64_t& step() { return step_; }
  const std::vector<float>& exp_avg() const { return m_; }
  const std::vector<float>& exp_avg_sq() const { return v_; }
  int64_t step() const { return step_; }

 private:
  std::vector<float> m_;  // first moment    (P)
  std::vector<float> v_;  // second moment   (P)
  int64_t step_ = 0;
  double eps_ = 1e-8, beta1_ = 0.9, beta2_ = 0.999;
  double lr_ = 0.0;  // of the last Step
};

// Clips the gradient to global L2 norm `max_norm` (torch.nn.utils.clip_grad_norm_'s formula);
// returns the norm before clipping.
double ClipGradNorm(float* grads, int64_t n, double max_norm);
// The factor ClipGradNorm scaled a gradient of norm `norm` by (1 when it did not clip).
double ClipCoef(double norm, double max_norm);

}  // namespace rlforge::nn
