#include "rlforge/nn/archive.h"

namespace rlforge::nn {

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
