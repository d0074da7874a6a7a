#include "rlforge/algos/dreamer/networks.h"

#include <torch/torch.h>

#include <cmath>

#include "rlforge/algos/dreamer/math.h"

namespace rlforge::dreamer {
namespace {

// Truncated standard normal on [-2, 2] by the inverse CDF, times std.
torch::Tensor TruncNormal(at::IntArrayRef shape, double std, at::Generator& gen) {
  const double lo = 0.5 * std::erfc(2.0 / std::sqrt(2.0));  // Phi(-2)
  const torch::Tensor u = torch::rand(shape, gen, torch::kFloat64) * (1.0 - 2.0 * lo) + lo;
  // std of the normal truncated at +-2 is 0.8796; divided out as the official initializer does
  return (std::sqrt(2.0) * torch::erfinv(2.0 * u - 1.0) * (std / 0.87962566103423978))
      .to(torch::kFloat32);
}

// 1 / RMS(x) along `dim` (kept), eps 1e-4, from x * x: x.square()'s backward goes through a slow
// pow (4.2 s of a 20 s profiled update at NaturalDreamer's CarRacing size).
torch::Tensor InverseRms(const torch::Tensor& x, int64_t dim) {
  return torch::rsqrt((x * x).mean(dim, /*keepdim=*/true) + 1e-4);
}

torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& scale) {
  return x * InverseRms(x, -1) * scale;
}

// (a - b)^2 as a product, whose backward is cheaper than square()'s pow.
torch::Tensor SquaredError(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor d = a - b;
  return d * d;
}

// RMSNorm over the channels of (N x C x H x W), then SiLU.
torch::Tensor ChannelNormSilu(const torch::Tensor& x, const torch::Tensor& scale) {
  return torch::silu(x * InverseRms(x, 1) * scale.view({1, -1, 1, 1}));
}

// A conv layer with the official initializer: truncated normal, variance 1 / fan-in, zero bias.
template <class Conv, class Options>
Conv MakeConv(const Options& options, int64_t fan_in, at::Generator& gen) {
  Conv conv(options);
  torch::NoGradGuard no_grad;
  conv->weight.copy_(TruncNormal(conv->weight.sizes(), std::sqrt(1.0 / fan_in), gen));
  conv->bias.zero_();
  return conv;
}

// Channels of the four stages: 2024 (pool) 2d 3d 4d 4d, 2023 (strided) d 2d 4d 8d.
std::vector<int64_t> StageChannels(int64_t d, bool strided) {
  return strided ? std::vector<int64_t>{d, 2 * d, 4 * d, 8 * d}
                 : std::vector<int64_t>{2 * d, 3 * d, 4 * d, 4 * d};
}

// Leading dims of x flattened into one: (... x rest) -> (N x rest), keeping `rest` trailing dims.
torch::Tensor FlattenLeading(const torch::Tensor& x, int64_t rest) {
  std::vector<int64_t> shape = {-1};
  for (int64_t i = x.dim() - rest; i < x.dim(); ++i) shape.push_back(x.size(i));
  return x.reshape(shape);
}

// y (N x rest...) with the leading dims of `like` (keeping `like`'s first like.dim() - drop).
torch::Tensor RestoreLeading(const torch::Tensor& y, const torch::Tensor& like, int64_t drop) {
  std::vector<int64_t> shape(like.sizes().begin(), like.sizes().end() - drop);
  for (int64_t i = 1; i < y.dim(); ++i) shape.push_back(y.size(i));
  return y.reshape(shape);
}

}  // namespace

torch::nn::Linear MakeLinear(int64_t in, int64_t out, double scale, at::Generator& gen) {
  torch::nn::Linear linear(in, out);
  torch::NoGradGuard no_grad;
  linear->weight.copy_(TruncNormal({out, in}, std::sqrt(scale / static_cast<double>(in)), gen));
  linear->bias.zero_();
  return linear;
}

NormLayerImpl::NormLayerImpl(int64_t in, int64_t out, at::Generator& gen) {
  linear_ = register_module("linear", MakeLinear(in, out, 1.0, gen));
  scale_ = register_parameter("norm", torch::ones({out}));
}

torch::Tensor NormLayerImpl::forward(const torch::Tensor& x) {
  return torch::silu(RmsNorm(linear_(x), scale_));
}

MlpImpl::MlpImpl(int64_t in, int64_t units, int64_t layers, int64_t out, double outscale,
                 at::Generator& gen) {
  for (int64_t i = 0; i < layers; ++i) {
    layers_.push_back(
        register_module(std::to_string(i), NormLayer(i == 0 ? in : units, units, gen)));
  }
  if (out > 0) {
    out_ = register_module("out", MakeLinear(layers > 0 ? units : in, out, 1.0, gen));
    torch::NoGradGuard no_grad;
    out_->weight.mul_(std::sqrt(outscale));  // variance scale outscale: std sqrt(outscale)
  }
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  for (auto& layer : layers_) x = layer(x);
  return out_ ? out_(x) : x;
}

BlockLinearImpl::BlockLinearImpl(int64_t in, int64_t out, int64_t groups, at::Generator& gen)
    : groups_(groups) {
  // fan-in of the whole layer (the official initializer's receptive field), not of one block
  weight_ = register_parameter(
      "weight", TruncNormal({groups, in / groups, out / groups}, std::sqrt(1.0 / in), gen));
  bias_ = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor BlockLinearImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0);
  const torch::Tensor grouped = x.reshape({n, groups_, -1}).transpose(0, 1);  // (G x N x in/G)
  return torch::bmm(grouped, weight_).transpose(0, 1).reshape({n, -1}) + bias_;
}

torch::Tensor BlockLinearImpl::ForwardShared(const torch::Tensor& own,
                                             const torch::Tensor& shared) {
  const int64_t n = own.size(0), a = own.size(1) / groups_, out = bias_.size(0);
  const torch::Tensor w_own = weight_.slice(1, 0, a);  // (G x a x out/G)
  const torch::Tensor w_shared = weight_.slice(1, a).permute({1, 0, 2}).reshape({-1, out});
  const torch::Tensor y_own =
      torch::bmm(own.reshape({n, groups_, a}).transpose(0, 1), w_own).transpose(0, 1);
  return torch::addmm(bias_, shared, w_shared) + y_own.reshape({n, out});
}

ImageEncoderImpl::ImageEncoderImpl(const ObsLayout& o, int64_t depth, bool strided,
                                   at::Generator& gen)
    : strided_(strided) {
  const int64_t k = strided ? 4 : 5;
  int64_t in = o.channels;
  for (int64_t c : StageChannels(depth, strided)) {
    const auto options = torch::nn::Conv2dOptions(in, c, k)
                             .stride(strided ? 2 : 1)
                             .padding(strided ? 1 : 2);  // "same"
    const std::string i = std::to_string(convs_.size());
    convs_.push_back(
        register_module("conv" + i, MakeConv<torch::nn::Conv2d>(options, k * k * in, gen)));
    norms_.push_back(register_parameter("norm" + i, torch::ones({c})));
    in = c;
  }
  out_dim_ = (o.height / 16) * (o.width / 16) * in;
}

torch::Tensor ImageEncoderImpl::forward(const torch::Tensor& image) {
  // (N x C x H x W), contiguous: LibTorch's CPU channel reductions and their backward run
  // several times faster on it than on the channels-last strides a permuted view has
  torch::Tensor x =
      (FlattenLeading(image, 3).permute({0, 3, 1, 2}).to(torch::kFloat32) / 255.0 - 0.5)
          .contiguous();
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = convs_[i](x);
    if (!strided_) x = torch::max_pool2d(x, 2);
    x = ChannelNormSilu(x, norms_[i]);
  }
  return RestoreLeading(x.permute({0, 2, 3, 1}).flatten(1), image, 3);
}

ImageDecoderImpl::ImageDecoderImpl(int64_t features, const ObsLayout& o, int64_t depth,
                                   bool strided, at::Generator& gen)
    : strided_(strided), min_h_(o.height / 16), min_w_(o.width / 16) {
  const std::vector<int64_t> channels = StageChannels(depth, strided);
  last_ = channels.back();
  space_ = register_module("space", MakeLinear(features, min_h_ * min_w_ * last_, 1.0, gen));
  norms_.push_back(register_parameter("space_norm", torch::ones({last_})));
  const int64_t k = strided ? 4 : 5;
  int64_t in = last_;
  // three stages up to the first stage's channels, then the output stage to the image's
  for (int64_t i = 2; i >= -1; --i) {
    const int64_t out = i >= 0 ? channels[static_cast<size_t>(i)] : o.channels;
    const std::string name = i >= 0 ? "conv" + std::to_string(i) : "out";
    if (strided) {
      const auto options = torch::nn::ConvTranspose2dOptions(in, out, k).stride(2).padding(1);
      deconvs_.push_back(register_module(
          name, MakeConv<torch::nn::ConvTranspose2d>(options, k * k * in / 4, gen)));
    } else {
      const auto options = torch::nn::Conv2dOptions(in, out, k).padding(2);
      convs_.push_back(
          register_module(name, MakeConv<torch::nn::Conv2d>(options, k * k * in, gen)));
    }
    if (i >= 0) norms_.push_back(register_parameter(name + "_norm", torch::ones({out})));
    in = out;
  }
}

torch::Tensor ImageDecoderImpl::forward(const torch::Tensor& feat) {
  const torch::Tensor f = FlattenLeading(feat, 1);
  torch::Tensor x =
      space_(f).reshape({f.size(0), min_h_, min_w_, last_}).permute({0, 3, 1, 2}).contiguous();
  x = ChannelNormSilu(x, norms_[0]);
  const size_t stages = strided_ ? deconvs_.size() : convs_.size();
  for (size_t i = 0; i < stages; ++i) {
    if (strided_) {
      x = deconvs_[i](x);
    } else {
      x = convs_[i](torch::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)}));
    }
    if (i + 1 < stages) x = ChannelNormSilu(x, norms_[i + 1]);
  }
  x = strided_ ? x + 0.5 : torch::sigmoid(x);
  return RestoreLeading(x.permute({0, 2, 3, 1}), feat, 1);
}

RssmImpl::RssmImpl(int64_t action_dim, int64_t embed_dim, const DreamerSize& s, int64_t stoch,
                   int64_t blocks, double unimix, at::Generator& gen)
    : deter_(s.deter), stoch_(stoch), classes_(s.classes), blocks_(blocks), unimix_(unimix) {
  const int64_t H = s.hidden, D = s.deter, SK = stoch * s.classes;
  in_deter_ = register_module("in_deter", NormLayer(D, H, gen));
  in_stoch_ = register_module("in_stoch", NormLayer(SK, H, gen));
  in_action_ = register_module("in_action", NormLayer(action_dim, H, gen));
  dyn_hidden_ =
      register_module("dyn_hidden", BlockLinear(blocks * (3 * H + D / blocks), D, blocks, gen));
  dyn_norm_ = register_parameter("dyn_norm", torch::ones({D}));
  dyn_gru_ = register_module("dyn_gru", BlockLinear(D, 3 * D, blocks, gen));
  prior_ = register_module("prior", Mlp(D, H, 2, SK, 1.0, gen));
  posterior_ = register_module("posterior", Mlp(D + embed_dim, H, 1, SK, 1.0, gen));
}

torch::Tensor RssmImpl::Core(const torch::Tensor& deter, const torch::Tensor& stoch,
                             const torch::Tensor& action) {
  const int64_t n = deter.size(0), G = blocks_;
  // actions are clipped into [-1, 1] inside the model: a / sg(max(1, |a|))
  const torch::Tensor a = action / torch::clamp_min(action.abs(), 1.0).detach();
  const torch::Tensor x = torch::cat(
      {in_deter_(deter), in_stoch_(stoch.reshape({n, -1})), in_action_(a)}, -1);  // (N x 3H)
  // every block sees its own slice of h and all projected inputs
  torch::Tensor y = torch::silu(RmsNorm(dyn_hidden_->ForwardShared(deter, x), dyn_norm_));
  const auto gates = dyn_gru_(y).reshape({n, G, -1}).chunk(3, -1);  // reset, candidate, update
  const torch::Tensor reset = torch::sigmoid(gates[0].reshape({n, -1}));
  const torch::Tensor cand = torch::tanh(reset * gates[1].reshape({n, -1}));
  const torch::Tensor update = torch::sigmoid(gates[2].reshape({n, -1}) - 1.0);
  return update * cand + (1 - update) * deter;
}

torch::Tensor RssmImpl::Logits(const torch::Tensor& x) const {
  return Unimix(x.reshape({x.size(0), stoch_, classes_}), unimix_);
}

torch::Tensor RssmImpl::Prior(const torch::Tensor& deter) { return Logits(prior_(deter)); }

torch::Tensor RssmImpl::Posterior(const torch::Tensor& deter, const torch::Tensor& embed) {
  return Logits(posterior_(torch::cat({deter, embed}, -1)));
}

torch::Tensor RssmImpl::Features(const torch::Tensor& deter, const torch::Tensor& stoch) {
  return torch::cat({deter, stoch.flatten(-2)}, -1);
}

WorldModelImpl::WorldModelImpl(const ObsLayout& obs, int64_t action_dim,
                               const algos::DreamerConfig& c, at::Generator& gen)
    : layout(obs) {
  const DreamerSize s = c.Size();
  const bool strided = c.cnn == "strided";
  int64_t embed = 0;
  if (obs.vector > 0) {
    encoder = register_module("encoder", Mlp(obs.vector, s.units, 3, 0, 1.0, gen));
    embed += s.units;
  }
  if (obs.has_image()) {
    image_encoder = register_module("image_encoder", ImageEncoder(obs, s.depth, strided, gen));
    embed += image_encoder->out_dim();
  }
  rssm = register_module("rssm", Rssm(action_dim, embed, s, c.stoch, c.blocks, c.unimix, gen));
  const int64_t F = rssm->feature_dim();
  if (obs.vector > 0)
    decoder = register_module("decoder", Mlp(F, s.units, 3, obs.vector, 1.0, gen));
  if (obs.has_image()) {
    image_decoder = register_module("image_decoder", ImageDecoder(F, obs, s.depth, strided, gen));
  }
  reward = register_module("reward", Mlp(F, s.units, 1, 255, 0.0, gen));
  cont = register_module("cont", Mlp(F, s.units, 1, 1, 1.0, gen));
}

torch::Tensor WorldModelImpl::Embed(const torch::Tensor& vector, const torch::Tensor& image) {
  std::vector<torch::Tensor> parts;
  if (encoder) parts.push_back(encoder(Symlog(vector)));
  if (image_encoder) parts.push_back(image_encoder(image));
  return parts.size() == 1 ? parts[0] : torch::cat(parts, -1);
}

torch::Tensor WorldModelImpl::DecoderLoss(const torch::Tensor& feat, const torch::Tensor& vector,
                                          const torch::Tensor& image) {
  torch::Tensor loss = torch::zeros(feat.sizes().slice(0, feat.dim() - 1), feat.options());
  if (decoder && vector.defined())
    loss = loss + SquaredError(decoder(feat), Symlog(vector)).sum(-1);
  if (image_decoder && image.defined()) {
    const torch::Tensor target = image.to(torch::kFloat32) / 255.0;
    loss = loss + SquaredError(image_decoder(feat), target).sum({-3, -2, -1});
  }
  return loss;
}

torch::Tensor WorldModelImpl::PredictImage(const torch::Tensor& feat) {
  return image_decoder(feat);
}

torch::Tensor WorldModelImpl::PredictVector(const torch::Tensor& feat) {
  return Symexp(decoder(feat));
}

}  // namespace rlforge::dreamer
