#include "rlforge/nn/mlp.h"

#include <algorithm>
#include <cmath>

#include "rlforge/core/error.h"

namespace rlforge::nn {

namespace {
int g_training_threads = 1;
}

void SetTrainingThreads(int n) {
  if (n < 1) throw Error("threads: expected a positive number, got " + std::to_string(n));
  g_training_threads = n;
}

int TrainingThreads() { return g_training_threads; }

Rng StreamRng(uint64_t seed, uint32_t stream) {
  const uint32_t words[3] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                             0x5eed0000u + stream};
  return Rng(SeedSequence(std::span<const uint32_t>(words)));
}

std::vector<float> Orthogonal(int64_t rows, int64_t cols, double gain, Rng& rng) {
  // a Gaussian (rows x cols); QR of it, or of its transpose when it is wide: A = Q R, m >= n
  const bool wide = rows < cols;
  const int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  std::vector<double> a(static_cast<size_t>(m * n));  // A, column-major  (m x n)
  std::vector<double> gauss(a.size());
  for (double& g : gauss) g = rng.Normal(0.0, 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double g = gauss[r * cols + c];
      if (wide)
        a[r * m + c] = g;  // A = G^T: column r is row r of G
      else
        a[c * m + r] = g;
    }
  }
  const auto at = [&](std::vector<double>& x, int64_t i, int64_t j) -> double& {
    return x[j * m + i];
  };
  // Householder: H_k = I - 2 v_k v_k^T zeroes column k below the diagonal; R_kk = alpha_k
  std::vector<double> v(static_cast<size_t>(m * n), 0.0), r_diag(n);
  for (int64_t k = 0; k < n; ++k) {
    double norm = 0.0;
    for (int64_t i = k; i < m; ++i) norm += at(a, i, k) * at(a, i, k);
    norm = std::sqrt(norm);
    const double alpha = at(a, k, k) > 0 ? -norm : norm;
    double* vk = v.data() + k * m;
    for (int64_t i = k; i < m; ++i) vk[i] = at(a, i, k);
    vk[k] -= alpha;
    double vnorm = 0.0;
    for (int64_t i = k; i < m; ++i) vnorm += vk[i] * vk[i];
    vnorm = std::sqrt(vnorm);
    if (vnorm > 0) {
      for (int64_t i = k; i < m; ++i) vk[i] /= vnorm;
    }
    for (int64_t j = k; j < n; ++j) {  // A <- H_k A
      double dot = 0.0;
      for (int64_t i = k; i < m; ++i) dot += vk[i] * at(a, i, j);
      for (int64_t i = k; i < m; ++i) at(a, i, j) -= 2.0 * vk[i] * dot;
    }
    r_diag[k] = at(a, k, k);
  }
  // thin Q = H_0 ... H_{n-1} [I; 0], then each column times sign(R_kk)
  std::vector<double> q(static_cast<size_t>(m * n), 0.0);
  for (int64_t j = 0; j < n; ++j) at(q, j, j) = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const double* vk = v.data() + k * m;
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (int64_t i = k; i < m; ++i) dot += vk[i] * at(q, i, j);
      for (int64_t i = k; i < m; ++i) at(q, i, j) -= 2.0 * vk[i] * dot;
    }
  }
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = wide ? c : r, j = wide ? r : c;  // out = Q, or Q^T when wide
      const double sign = r_diag[j] < 0 ? -1.0 : 1.0;
      out[r * cols + c] = static_cast<float>(gain * sign * at(q, i, j));
    }
  }
  return out;
}

namespace {

// LayerNorms start as torch's: gain 1, bias 0.
void InitNorms(const DenseMlp& net, float* params) {
  for (const auto& N : net.norms()) {
    std::fill_n(params + N.g, N.n, 1.0f);
    std::fill_n(params + N.b, N.n, 0.0f);
  }
}

// The torch.nn.Sequential index of layer l: (Linear, act)* without norms; with them
// (LayerNorm, Linear, act, LayerNorm, Linear, act, ..., Linear), norm k at 3k.
std::string LinearName(const DenseMlp& net, const std::string& prefix, size_t l) {
  return prefix + "." + std::to_string(net.norms().empty() ? 2 * l : 3 * l + 1);
}
std::string NormName(const std::string& prefix, size_t k) {
  return prefix + "." + std::to_string(3 * k);
}

}  // namespace

void InitOrthogonal(const DenseMlp& net, float* params, double hidden_gain, double out_gain,
                    Rng& rng) {
  InitNorms(net, params);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const auto& L = net.layers()[l];
    const double gain = l + 1 == net.layers().size() ? out_gain : hidden_gain;
    const std::vector<float> w = Orthogonal(L.out, L.in, gain, rng);
    const std::vector<float> b(static_cast<size_t>(L.out), 0.0f);
    net.Import(params, l, w.data(), b.data());
  }
}

void InitLinearDefault(const DenseMlp& net, float* params, size_t l, Rng& rng) {
  const auto& L = net.layers()[l];
  const double bound = 1.0 / std::sqrt(static_cast<double>(L.in));
  std::vector<float> w(static_cast<size_t>(L.out * L.in)), b(static_cast<size_t>(L.out));
  for (float& x : w) x = static_cast<float>(rng.Uniform(-bound, bound));
  for (float& x : b) x = static_cast<float>(rng.Uniform(-bound, bound));
  net.Import(params, l, w.data(), b.data());
}

void InitLinearDefault(const DenseMlp& net, float* params, Rng& rng) {
  InitNorms(net, params);
  for (size_t l = 0; l < net.layers().size(); ++l) InitLinearDefault(net, params, l, rng);
}

void ExportLayers(const DenseMlp& net, const float* params, const std::string& prefix,
                  NamedTensors* out) {
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const auto& L = net.layers()[l];
    if (l < net.norms().size()) {  // the LayerNorm before it
      const auto& N = net.norms()[l];
      out->push_back({NormName(prefix, l) + ".weight", {N.n}, {params + N.g, params + N.g + N.n}});
      out->push_back({NormName(prefix, l) + ".bias", {N.n}, {params + N.b, params + N.b + N.n}});
    }
    const std::string name = LinearName(net, prefix, l);
    NamedTensor w{name + ".weight", {L.out, L.in}, std::vector<float>(L.out * L.in)};
    NamedTensor b{name + ".bias", {L.out}, std::vector<float>(L.out)};
    net.Export(params, l, w.values.data(), b.values.data());
    out->push_back(std::move(w));
    out->push_back(std::move(b));
  }
}

void ImportLayers(const DenseMlp& net, float* params, const std::string& prefix,
                  const io::TensorDict& in) {
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const auto& L = net.layers()[l];
    if (l < net.norms().size()) {
      const auto& N = net.norms()[l];
      in.Read(NormName(prefix, l) + ".weight", std::span<float>(params + N.g, N.n), {N.n});
      in.Read(NormName(prefix, l) + ".bias", std::span<float>(params + N.b, N.n), {N.n});
    }
    const std::string name = LinearName(net, prefix, l);
    std::vector<float> w(static_cast<size_t>(L.out * L.in)), b(static_cast<size_t>(L.out));
    in.Read(name + ".weight", w, {L.out, L.in});
    in.Read(name + ".bias", b, {L.out});
    net.Import(params, l, w.data(), b.data());
  }
}

void Put(io::TensorDict& out, const NamedTensors& tensors) {
  for (const auto& t : tensors) out.Put(t.name, t.values, t.shape);
}

void PutAdam(io::TensorDict& out, const std::string& prefix, const FlatAdam& adam) {
  out.Put(prefix + ".exp_avg", adam.exp_avg());
  out.Put(prefix + ".exp_avg_sq", adam.exp_avg_sq());
  out.Put(prefix + ".step", std::vector<int64_t>{adam.step()}, {});
}

void GetAdam(const io::TensorDict& in, const std::string& prefix, FlatAdam& adam) {
  in.Read(prefix + ".exp_avg", adam.exp_avg());
  in.Read(prefix + ".exp_avg_sq", adam.exp_avg_sq());
  adam.step() = in.Scalar<int64_t>(prefix + ".step");
}

void PutRng(io::TensorDict& out, const std::string& name, const Rng& rng) {
  out.PutText(name, rng.Serialize());
}

void GetRng(const io::TensorDict& in, const std::string& name, Rng& rng) {
  try {
    rng.Deserialize(in.Text(name));
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw Error(in.source() + ": " + name + ": not a generator state (corrupt)");
  }
}

}  // namespace rlforge::nn
