#include "rlforge/nn/archive.h"

#include <cstring>

#include "rlforge/core/error.h"

namespace rlforge::nn {

torch::Tensor ReadFloats(torch::serialize::InputArchive& archive, const std::string& what,
                         const std::string& key, const std::vector<int64_t>& shape) {
  torch::Tensor t;
  if (!archive.try_read(key, t) || t.sizes() != c10::IntArrayRef(shape) ||
      t.scalar_type() != torch::kFloat32) {
    std::string dims;
    for (const int64_t d : shape) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
    throw Error("checkpoint: " + what + (what.empty() ? "" : "/") + key +
                ": expected a float32 tensor of shape (" + dims + ")");
  }
  return t.contiguous();
}

void WriteFloats(torch::serialize::OutputArchive& archive, const std::string& key,
                 const std::vector<float>& data) {
  archive.write(key,
                torch::from_blob(const_cast<float*>(data.data()),
                                 {static_cast<int64_t>(data.size())}, torch::kFloat32)
                    .clone(),
                /*is_buffer=*/true);
}

void ReadFloats(torch::serialize::InputArchive& archive, const std::string& what,
                const std::string& key, std::vector<float>& out) {
  const torch::Tensor t = ReadFloats(archive, what, key, {static_cast<int64_t>(out.size())});
  std::memcpy(out.data(), t.data_ptr<float>(), sizeof(float) * out.size());
}

void SaveAdam(torch::serialize::OutputArchive& archive, const char* name, const FlatAdam& adam) {
  torch::serialize::OutputArchive sub;
  WriteFloats(sub, "exp_avg", adam.exp_avg());
  WriteFloats(sub, "exp_avg_sq", adam.exp_avg_sq());
  sub.write("step", torch::tensor(adam.step()), /*is_buffer=*/true);
  archive.write(name, sub);
}

void LoadAdam(torch::serialize::InputArchive& archive, const char* name, FlatAdam& adam) {
  torch::serialize::InputArchive sub;
  archive.read(name, sub);
  ReadFloats(sub, name, "exp_avg", adam.exp_avg());
  ReadFloats(sub, name, "exp_avg_sq", adam.exp_avg_sq());
  torch::Tensor step;
  if (!sub.try_read("step", step) || step.numel() != 1 || step.scalar_type() != torch::kLong) {
    throw Error(std::string("checkpoint: ") + name + "/step: expected one int64");
  }
  adam.step() = step.item<int64_t>();
}

void WriteText(torch::serialize::OutputArchive& archive, const char* name,
               const std::string& text) {
  const torch::Tensor bytes = torch::from_blob(const_cast<char*>(text.data()),
                                               {static_cast<int64_t>(text.size())}, torch::kUInt8);
  archive.write(name, bytes.clone(), /*is_buffer=*/true);
}

std::string ReadText(torch::serialize::InputArchive& archive, const char* name) {
  torch::Tensor t;
  archive.read(name, t, /*is_buffer=*/true);
  if (t.scalar_type() != torch::kUInt8 || t.dim() != 1)
    throw std::runtime_error(std::string(name) + ": not text");
  t = t.contiguous();
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()),
                     static_cast<size_t>(t.numel()));
}

}  // namespace rlforge::nn
