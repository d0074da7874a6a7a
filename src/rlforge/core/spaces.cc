#include "rlforge/core/spaces.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "rlforge/core/error.h"

namespace rlforge {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kUInt8:
      return "uint8";
    case DType::kBool:
      return "bool";
  }
  return "?";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
      return 8;
    case DType::kInt64:
      return 8;
    case DType::kInt32:
      return 4;
    case DType::kUInt8:
      return 1;
    case DType::kBool:
      return 1;
  }
  return 0;
}

std::string FormatNumber(double v, DType dtype) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    return std::to_string(static_cast<int64_t>(v));
  }
  // the shortest digits that read back to the same value, laid out as Python's repr(float):
  // positional for exponents in [-4, 16), else d.ddde+XX
  char buf[40];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision - 1, v);
    const double back = std::strtod(buf, nullptr);
    if (dtype == DType::kFloat32 ? static_cast<float>(back) == static_cast<float>(v) : back == v)
      break;
  }
  const std::string sci = buf;  // "-d.ddde+XX", as Python prints it outside [1e-4, 1e16)
  const int exponent = std::atoi(sci.c_str() + sci.find('e') + 1);
  if (exponent < -4 || exponent >= 16) return sci;
  std::snprintf(buf, sizeof(buf), "%.*f", std::max(0, precision - 1 - exponent), v);
  std::string s = buf;
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

namespace {

int64_t Product(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    s += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) s += " ";
  }
  return s + ")";
}

std::string BoundString(const std::vector<double>& v, DType dtype) {
  if (!v.empty() && std::all_of(v.begin(), v.end(), [&](double x) { return x == v[0]; })) {
    return FormatNumber(v[0], dtype);
  }
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + FormatNumber(v[i], dtype);
  return s + "]";
}

std::string IntList(const std::vector<int64_t>& v, const char* sep) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s + "]";
}

double CastToDType(double v, DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return static_cast<float>(v);
    case DType::kFloat64:
      return v;
    default:
      return std::floor(v);
  }
}

}  // namespace

Space Space::Box(std::vector<double> low, std::vector<double> high, std::vector<int64_t> shape,
                 DType dtype) {
  const int64_t size = Product(shape);
  if (static_cast<int64_t>(low.size()) != size || static_cast<int64_t>(high.size()) != size) {
    throw Error("Box: low/high must have " + std::to_string(size) + " elements for shape " +
                ShapeString(shape));
  }
  Space s;
  s.kind_ = Kind::kBox;
  s.dtype_ = dtype;
  s.shape_ = std::move(shape);
  for (int64_t i = 0; i < size; ++i) {
    // Bounds are stored as the dtype holds them (float32 Box: float32-rounded, like NumPy).
    low[i] = CastToDType(low[i], dtype);
    high[i] = CastToDType(high[i], dtype);
    if (!(low[i] <= high[i])) {
      throw Error("Box: low[" + std::to_string(i) + "] = " + FormatNumber(low[i], dtype) +
                  " must be <= high[" + std::to_string(i) + "] = " + FormatNumber(high[i], dtype));
    }
  }
  s.low_ = std::move(low);
  s.high_ = std::move(high);
  return s;
}

Space Space::Box(double low, double high, std::vector<int64_t> shape, DType dtype) {
  const auto size = static_cast<size_t>(Product(shape));
  return Box(std::vector<double>(size, low), std::vector<double>(size, high), std::move(shape),
             dtype);
}

Space Space::Discrete(int64_t n, int64_t start) {
  if (n <= 0) throw Error("Discrete: n must be positive, got " + std::to_string(n));
  Space s;
  s.kind_ = Kind::kDiscrete;
  s.dtype_ = DType::kInt64;
  s.nvec_ = {n};
  s.start_ = start;
  return s;
}

Space Space::MultiDiscrete(std::vector<int64_t> nvec) {
  for (size_t i = 0; i < nvec.size(); ++i) {
    if (nvec[i] <= 0)
      throw Error("MultiDiscrete: nvec[" + std::to_string(i) + "] must be positive");
  }
  Space s;
  s.kind_ = Kind::kMultiDiscrete;
  s.dtype_ = DType::kInt64;
  s.shape_ = {static_cast<int64_t>(nvec.size())};
  s.nvec_ = std::move(nvec);
  return s;
}

Space Space::MultiBinary(int64_t n) {
  if (n <= 0) throw Error("MultiBinary: n must be positive, got " + std::to_string(n));
  Space s = MultiDiscrete(std::vector<int64_t>(static_cast<size_t>(n), 2));
  s.kind_ = Kind::kMultiBinary;
  s.dtype_ = DType::kInt64;
  return s;
}

Space Space::Composite(std::vector<int64_t> cardinalities, const Space& continuous) {
  if (continuous.kind_ != Kind::kBox) throw Error("Composite: the continuous part must be a Box");
  Space s = MultiDiscrete(std::move(cardinalities));
  s.kind_ = Kind::kComposite;
  s.dtype_ = continuous.dtype_;
  s.shape_ = {s.num_discrete() + continuous.size()};
  s.low_ = continuous.low_;
  s.high_ = continuous.high_;
  return s;
}

int64_t Space::size() const {
  if (kind_ == Kind::kDiscrete) return 1;
  return Product(shape_);
}

int64_t Space::num_discrete() const {
  return kind_ == Kind::kBox ? 0 : static_cast<int64_t>(nvec_.size());
}
int64_t Space::num_continuous() const { return static_cast<int64_t>(low_.size()); }

bool Space::is_bounded() const {
  for (size_t i = 0; i < low_.size(); ++i) {
    if (!std::isfinite(low_[i]) || !std::isfinite(high_[i])) return false;
  }
  return true;
}

std::string Space::Check(const Action& a) const {
  const auto want_d = static_cast<size_t>(num_discrete());
  const auto want_c = static_cast<size_t>(num_continuous());
  if (a.discrete.size() != want_d || a.continuous.size() != want_c) {
    return "action has " + std::to_string(a.discrete.size()) + " discrete and " +
           std::to_string(a.continuous.size()) + " continuous values, " + ToString() + " expects " +
           std::to_string(want_d) + " and " + std::to_string(want_c);
  }
  for (size_t i = 0; i < want_d; ++i) {
    const int64_t lo = kind_ == Kind::kDiscrete ? start_ : 0;
    if (a.discrete[i] < lo || a.discrete[i] >= lo + nvec_[i]) {
      return "action" + (want_d > 1 ? "[" + std::to_string(i) + "]" : std::string()) + " = " +
             std::to_string(a.discrete[i]) + " is outside " + ToString() + " (expected " +
             std::to_string(lo) + " <= a < " + std::to_string(lo + nvec_[i]) + ")";
    }
  }
  for (size_t i = 0; i < want_c; ++i) {
    const float v = a.continuous[i];
    if (std::isnan(v)) return "action[" + std::to_string(i) + "] is NaN; expected a finite number";
    if (v < static_cast<float>(low_[i]) || v > static_cast<float>(high_[i])) {
      return "action[" + std::to_string(i) + "] = " + FormatNumber(v, DType::kFloat32) +
             " is outside [" + FormatNumber(low_[i], dtype_) + ", " +
             FormatNumber(high_[i], dtype_) + "]";
    }
  }
  return {};
}

bool Space::Contains(std::span<const double> values) const {
  if (kind_ != Kind::kBox || static_cast<int64_t>(values.size()) != size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!(values[i] >= low_[i] && values[i] <= high_[i])) return false;
  }
  return true;
}

int64_t Space::MaskSize() const {
  if (kind_ != Kind::kDiscrete && kind_ != Kind::kMultiDiscrete) return 0;
  int64_t size = 0;
  for (const int64_t n : nvec_) size += n;
  return size;
}

void Space::SampleMasked(Rng& rng, const uint8_t* mask, std::span<int64_t> discrete,
                         std::span<float> continuous) const {
  if (mask == nullptr || MaskSize() == 0) return Sample(rng, discrete, continuous);
  if (static_cast<int64_t>(discrete.size()) != num_discrete())
    throw Error("Space::SampleMasked: output sizes do not match " + ToString());
  for (size_t part = 0; part < nvec_.size(); mask += nvec_[part++]) {
    const int64_t allowed =
        std::count_if(mask, mask + nvec_[part], [](uint8_t flag) { return flag != 0; });
    if (allowed == 0)
      throw Error("action mask of " + ToString() + " allows no value of part " +
                  std::to_string(part));
    int64_t k = rng.Integers(allowed), j = 0;  // the k-th allowed value
    while (mask[j] == 0 || k-- > 0) ++j;
    discrete[part] = start_ + j;
  }
}

void Space::Sample(Rng& rng, std::span<int64_t> discrete, std::span<float> continuous) const {
  if (static_cast<int64_t>(discrete.size()) != num_discrete() ||
      static_cast<int64_t>(continuous.size()) != num_continuous()) {
    throw Error("Space::Sample: output sizes do not match " + ToString());
  }
  switch (kind_) {
    case Kind::kDiscrete:
      discrete[0] = start_ + rng.Integers(nvec_[0]);
      break;
    case Kind::kMultiDiscrete:
    case Kind::kComposite:
      // Gymnasium: (random(shape) * nvec).astype(int)
      for (size_t i = 0; i < nvec_.size(); ++i) {
        discrete[i] = static_cast<int64_t>(rng.Random() * static_cast<double>(nvec_[i]));
      }
      break;
    case Kind::kMultiBinary:
      for (auto& d : discrete) d = rng.Integers(2);
      break;
    case Kind::kBox:
      break;
  }
  // Gymnasium Box.sample: uniform when bounded, exponential tails when half-bounded, normal else.
  for (size_t i = 0; i < low_.size(); ++i) {
    const bool lo = std::isfinite(low_[i]);
    const bool hi = std::isfinite(high_[i]);
    double v;
    if (lo && hi) {
      v = rng.Uniform(low_[i], high_[i]);
    } else if (lo) {
      v = low_[i] + rng.Exponential();
    } else if (hi) {
      v = high_[i] - rng.Exponential();
    } else {
      v = rng.Normal(0.0, 1.0);
    }
    continuous[i] = static_cast<float>(v);
  }
}

int64_t Space::FlatDim() const {
  if (kind_ == Kind::kBox || kind_ == Kind::kMultiBinary) return size();
  return std::accumulate(nvec_.begin(), nvec_.end(), int64_t{0}) + num_continuous();
}

void Space::Flatten(const Action& a, std::span<float> out) const {
  if (const auto why = Check(a); !why.empty()) throw Error("flatten: " + why);
  if (static_cast<int64_t>(out.size()) != FlatDim()) throw Error("flatten: output size mismatch");
  std::fill(out.begin(), out.end(), 0.0f);
  size_t offset = 0;
  if (kind_ == Kind::kMultiBinary) {
    for (size_t i = 0; i < a.discrete.size(); ++i) out[i] = static_cast<float>(a.discrete[i]);
    return;
  }
  for (size_t i = 0; i < nvec_.size() && kind_ != Kind::kBox; ++i) {
    const int64_t base = kind_ == Kind::kDiscrete ? start_ : 0;
    out[offset + static_cast<size_t>(a.discrete[i] - base)] = 1.0f;
    offset += static_cast<size_t>(nvec_[i]);
  }
  std::copy(a.continuous.begin(), a.continuous.end(), out.begin() + static_cast<ptrdiff_t>(offset));
}

void Space::Unflatten(std::span<const float> flat, std::span<int64_t> discrete,
                      std::span<float> continuous) const {
  if (static_cast<int64_t>(flat.size()) != FlatDim()) throw Error("unflatten: input size mismatch");
  size_t offset = 0;
  if (kind_ == Kind::kMultiBinary) {
    for (size_t i = 0; i < discrete.size(); ++i) discrete[i] = flat[i] > 0.5f ? 1 : 0;
    return;
  }
  for (size_t i = 0; i < nvec_.size() && kind_ != Kind::kBox; ++i) {
    const auto begin = flat.begin() + static_cast<ptrdiff_t>(offset);
    const auto arg = std::max_element(begin, begin + nvec_[i]) - begin;
    discrete[i] = arg + (kind_ == Kind::kDiscrete ? start_ : 0);
    offset += static_cast<size_t>(nvec_[i]);
  }
  std::copy(flat.begin() + static_cast<ptrdiff_t>(offset), flat.end(), continuous.begin());
}

std::string Space::ToString() const {
  switch (kind_) {
    case Kind::kBox:
      return "Box(" + BoundString(low_, dtype_) + ", " + BoundString(high_, dtype_) + ", " +
             ShapeString(shape_) + ", " + DTypeName(dtype_) + ")";
    case Kind::kDiscrete:
      return "Discrete(" + std::to_string(nvec_[0]) +
             (start_ != 0 ? ", start=" + std::to_string(start_) : std::string()) + ")";
    case Kind::kMultiDiscrete:
      return "MultiDiscrete(" + IntList(nvec_, " ") + ")";
    case Kind::kMultiBinary:
      return "MultiBinary(" + std::to_string(nvec_.size()) + ")";
    case Kind::kComposite: {
      const Space box = Box(low_, high_, {num_continuous()}, dtype_);
      return "Composite(discrete=" + IntList(nvec_, ", ") + ", continuous=" + box.ToString() + ")";
    }
  }
  return "?";
}

}  // namespace rlforge
