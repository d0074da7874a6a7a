// DreamerV3's networks (2024 version, official rssm.py / heads.py): every layer is Linear (or
// Conv) -> RMSNorm -> SiLU, weights truncated-normal with fan-in scaling, reward and value
// outputs zero, the policy's scaled by 0.01. Vector observations: symlog MLP encoder and
// symlog-MSE decoder; images: CNN encoder and decoder, MSE summed over pixels; or both.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "rlforge/algos/dreamer/config.h"

namespace rlforge::dreamer {

using algos::DreamerSize;

// A Linear layer initialized as the official code does: truncated normal (+-2 sd) with variance
// scale / fan_in, zero bias; scale 0 gives zeros (the reward and value outputs).
torch::nn::Linear MakeLinear(int64_t in, int64_t out, double scale, at::Generator& gen);

// Linear -> RMSNorm (learned scale, eps 1e-4) -> SiLU.
class NormLayerImpl : public torch::nn::Module {
 public:
  NormLayerImpl(int64_t in, int64_t out, at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear_{nullptr};
  torch::Tensor scale_;  // RMSNorm gain   (out)
};
TORCH_MODULE(NormLayer);

// `layers` NormLayers of width `units`, then an optional Linear output (out = 0: none).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in, int64_t units, int64_t layers, int64_t out, double outscale,
          at::Generator& gen);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<NormLayer> layers_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Mlp);

// A block-diagonal Linear: `groups` blocks, each mapping in/groups inputs to out/groups outputs.
class BlockLinearImpl : public torch::nn::Module {
 public:
  BlockLinearImpl(int64_t in, int64_t out, int64_t groups, at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& x);  // (N x in) -> (N x out)
  // forward() of the input whose block g is [own_g, shared]: own (N x G a), shared (N x b), with
  // the shared part's products done as one dense GEMM instead of G copies of it
  torch::Tensor ForwardShared(const torch::Tensor& own, const torch::Tensor& shared);

 private:
  int64_t groups_;
  torch::Tensor weight_;  // blocks   (groups x in/groups x out/groups)
  torch::Tensor bias_;    // (out)
};
TORCH_MODULE(BlockLinear);

// What the model observes: a uint8 image (H x W x C), a float vector, or both.
struct ObsLayout {
  int64_t height = 0, width = 0, channels = 0;  // image; channels 0 = none
  int64_t vector = 0;                           // vector width; 0 = none
  bool has_image() const { return channels > 0; }
};

// The image encoder: uint8 (N x H x W x C) -> x / 255 - 0.5 -> four stages, flattened. pool
// (2024): stride-1 k5 conv, 2x2 max-pool, RMSNorm, SiLU, channels 2d 3d 4d 4d; strided (2023):
// k4 stride-2 conv, RMSNorm, SiLU, channels d 2d 4d 8d. Output (N x H/16 x W/16 x last).
class ImageEncoderImpl : public torch::nn::Module {
 public:
  ImageEncoderImpl(const ObsLayout& o, int64_t depth, bool strided, at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& image);
  int64_t out_dim() const { return out_dim_; }

 private:
  bool strided_;                          // 2023 stride-2 convs instead of conv + max-pool
  int64_t out_dim_;                       // flattened tokens   (H/16 x W/16 x last channels)
  std::vector<torch::nn::Conv2d> convs_;  // the four stages   (in -> stage channels)
  std::vector<torch::Tensor> norms_;      // RMSNorm gains over channels   (stage channels)
};
TORCH_MODULE(ImageEncoder);

// The image decoder: features -> Linear -> (last x H/16 x W/16), RMSNorm, SiLU, then three
// stages up and an output stage to C channels. pool (2024): nearest 2x upsampling + k5 conv,
// sigmoid output; strided (2023): k4 stride-2 transposed convs, output + 0.5. Returns
// (N x H x W x C), the predicted x / 255.
class ImageDecoderImpl : public torch::nn::Module {
 public:
  ImageDecoderImpl(int64_t features, const ObsLayout& o, int64_t depth, bool strided,
                   at::Generator& gen);
  torch::Tensor forward(const torch::Tensor& feat);

 private:
  bool strided_;                          // 2023 transposed convs instead of upsampling + conv
  int64_t min_h_, min_w_, last_;          // the lowest resolution and its channels
  torch::nn::Linear space_{nullptr};      // features -> (min_h x min_w x last)
  std::vector<torch::nn::Conv2d> convs_;  // pool: three stages up, then the output
  std::vector<torch::nn::ConvTranspose2d> deconvs_;  // strided: the same, each doubling H and W
  std::vector<torch::Tensor> norms_;  // RMSNorm gains: the projection's, then each stage's
};
TORCH_MODULE(ImageDecoder);

// The recurrent state-space model. State: deter h (N x D) and stoch z (N x S x K, one-hot).
class RssmImpl : public torch::nn::Module {
 public:
  RssmImpl(int64_t action_dim, int64_t embed_dim, const DreamerSize& size, int64_t stoch,
           int64_t blocks, double unimix, at::Generator& gen);

  // h_t = f(h_{t-1}, z_{t-1}, a_{t-1}): the block GRU.
  torch::Tensor Core(const torch::Tensor& deter, const torch::Tensor& stoch,
                     const torch::Tensor& action);
  // Latent probabilities (N x S x K), 1% unimix: prior p(z | h) and posterior q(z | h, x).
  torch::Tensor Prior(const torch::Tensor& deter);
  torch::Tensor Posterior(const torch::Tensor& deter, const torch::Tensor& embed);
  // The features every head reads: [h, flatten(z)]   (N x D + S K).
  static torch::Tensor Features(const torch::Tensor& deter, const torch::Tensor& stoch);

  int64_t deter_dim() const { return deter_; }
  int64_t stoch() const { return stoch_; }
  int64_t classes() const { return classes_; }
  int64_t feature_dim() const { return deter_ + stoch_ * classes_; }

 private:
  torch::Tensor Logits(const torch::Tensor& x) const;  // (N x S K) -> probs (N x S x K)
  int64_t deter_, stoch_, classes_, blocks_;
  double unimix_;
  NormLayer in_deter_{nullptr}, in_stoch_{nullptr}, in_action_{nullptr};  // input projections
  BlockLinear dyn_hidden_{nullptr}, dyn_gru_{nullptr};                    // the block GRU
  torch::Tensor dyn_norm_;                                                // RMSNorm gain (D)
  Mlp prior_{nullptr}, posterior_{nullptr};                               // -> S x K logits
};
TORCH_MODULE(Rssm);

// The world model: encoders, RSSM, decoders, reward and continue heads. Observations come as
// vectors (... x O, float) and images (... x H x W x C, uint8), either undefined when absent.
class WorldModelImpl : public torch::nn::Module {
 public:
  WorldModelImpl(const ObsLayout& obs, int64_t action_dim, const algos::DreamerConfig& c,
                 at::Generator& gen);
  // The tokens the posterior reads: [MLP(symlog(vector)), CNN(image)]   (... x E)
  torch::Tensor Embed(const torch::Tensor& vector, const torch::Tensor& image);
  // Reconstruction loss per step: symlog MSE summed over the vector's dimensions plus squared
  // error summed over the image's pixels (an undefined part adds nothing)   (... x F) -> (...)
  torch::Tensor DecoderLoss(const torch::Tensor& feat, const torch::Tensor& vector,
                            const torch::Tensor& image);
  // The predicted image (x / 255) and vector (raw scale) of features (... x F).
  torch::Tensor PredictImage(const torch::Tensor& feat);
  torch::Tensor PredictVector(const torch::Tensor& feat);

  ObsLayout layout;
  Mlp encoder{nullptr};                 // symlog(vector) -> tokens   (units); null without one
  ImageEncoder image_encoder{nullptr};  // null without an image
  Rssm rssm{nullptr};
  Mlp decoder{nullptr};                 // features -> symlog(vector)
  ImageDecoder image_decoder{nullptr};  // features -> image / 255
  Mlp reward{nullptr};                  // features -> 255 two-hot logits
  Mlp cont{nullptr};                    // features -> continue logit
};
TORCH_MODULE(WorldModel);

}  // namespace rlforge::dreamer
