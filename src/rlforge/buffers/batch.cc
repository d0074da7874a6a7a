#include "rlforge/buffers/batch.h"

#include <numeric>

#include "rlforge/core/error.h"

namespace rlforge::buffers {

int64_t BatchField::numel() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

void BatchField::Resize(DType type, std::vector<int64_t> new_shape) {
  dtype = type;
  shape = std::move(new_shape);
  data.resize(static_cast<size_t>(numel()) * DTypeSize(dtype));
}

const BatchField& Batch::operator[](std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return f;
  }
  throw Error("batch has no field '" + std::string(name) + "'");
}

BatchField& Batch::operator[](std::string_view name) {
  return const_cast<BatchField&>(static_cast<const Batch&>(*this)[name]);
}

}  // namespace rlforge::buffers
