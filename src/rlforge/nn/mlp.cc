#include "rlforge/nn/mlp.h"

#include <cmath>

#include "rlforge/core/error.h"

extern "C" void openblas_set_num_threads(int num_threads) __attribute__((weak));

namespace rlforge::nn {

namespace {
int g_training_threads = 1;
}

void SetTrainingThreads(int n) {
  if (n < 1) throw Error("threads: expected a positive number, got " + std::to_string(n));
  g_training_threads = n;
}

int TrainingThreads() { return g_training_threads; }

void UseTrainingThreads(bool libtorch_math) {
  const int threads = libtorch_math ? g_training_threads : 1;
  torch::set_num_threads(threads);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
}

torch::nn::Sequential Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out,
                          const std::string& activation, double out_gain) {
  if (activation != "tanh" && activation != "relu") {
    throw Error("activation: expected tanh or relu, got \"" + activation + "\"");
  }
  torch::nn::Sequential net;
  int64_t width = in;
  auto linear = [&](int64_t from, int64_t to, double gain) {
    torch::nn::Linear layer(from, to);
    torch::nn::init::orthogonal_(layer->weight, gain);
    torch::nn::init::constant_(layer->bias, 0.0);
    net->push_back(layer);
  };
  for (const int64_t h : hidden) {
    linear(width, h, std::sqrt(2.0));
    if (activation == "tanh") {
      net->push_back(torch::nn::Tanh());
    } else {
      net->push_back(torch::nn::ReLU());
    }
    width = h;
  }
  linear(width, out, out_gain);
  return net;
}

const float* ObservationRows(const torch::Tensor& obs, int64_t width, const char* who) {
  if (obs.dim() != 2 || obs.size(1) != width || !obs.is_contiguous() ||
      obs.scalar_type() != torch::kFloat32) {
    throw Error(std::string(who) + ": expected contiguous float32 observations (N x " +
                std::to_string(width) + ")");
  }
  return obs.data_ptr<float>();
}

void ImportLayers(const DenseMlp& net, float* params, const std::vector<torch::Tensor>& layers) {
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const torch::Tensor w = layers[2 * l].contiguous(), b = layers[2 * l + 1].contiguous();
    net.Import(params, l, w.data_ptr<float>(), b.data_ptr<float>());
  }
}

std::vector<torch::Tensor> LayerTensors(const DenseMlp& net, const float* params) {
  std::vector<torch::Tensor> out;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const auto& L = net.layers()[l];
    torch::Tensor w = torch::empty({L.out, L.in}), b = torch::empty({L.out});
    net.Export(params, l, w.data_ptr<float>(), b.data_ptr<float>());
    out.push_back(w);
    out.push_back(b);
  }
  return out;
}

}  // namespace rlforge::nn
