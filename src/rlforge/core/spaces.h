// Spaces with Gymnasium semantics: Box, Discrete, MultiDiscrete, MultiBinary, and a Composite of
// discrete heads + continuous dims (mixed actions).
//
// An action is two flat arrays: `discrete` (one int per discrete component) and `continuous`
// (one float per continuous element). A Discrete space uses one int, a Box only floats, a
// Composite both. Observations are flat arrays of the space's dtype.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rlforge/core/rng.h"

namespace rlforge {

enum class DType { kFloat32, kFloat64, kInt64, kInt32, kUInt8, kBool };

const char* DTypeName(DType dtype);

// The DType of a C++ element type: DTypeOf<float>() == DType::kFloat32.
template <typename T>
constexpr DType DTypeOf() {
  if constexpr (std::is_same_v<T, float>) return DType::kFloat32;
  if constexpr (std::is_same_v<T, double>) return DType::kFloat64;
  if constexpr (std::is_same_v<T, int64_t>) return DType::kInt64;
  if constexpr (std::is_same_v<T, int32_t>) return DType::kInt32;
  if constexpr (std::is_same_v<T, uint8_t>) return DType::kUInt8;
  if constexpr (std::is_same_v<T, bool>) return DType::kBool;
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> ||
                    std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>,
                "no DType for this type");
}
size_t DTypeSize(DType dtype);

// A view of one action: discrete components and continuous elements.
struct Action {
  std::span<const int64_t> discrete;  // discrete components   (num_discrete)
  std::span<const float> continuous;  // continuous elements   (num_continuous)
};

class Space {
 public:
  enum class Kind { kBox, kDiscrete, kMultiDiscrete, kMultiBinary, kComposite };

  Space() = default;
  static Space Box(std::vector<double> low, std::vector<double> high, std::vector<int64_t> shape,
                   DType dtype = DType::kFloat32);
  static Space Box(double low, double high, std::vector<int64_t> shape,
                   DType dtype = DType::kFloat32);
  static Space Discrete(int64_t n, int64_t start = 0);
  static Space MultiDiscrete(std::vector<int64_t> nvec);
  static Space MultiBinary(int64_t n);
  static Space Composite(std::vector<int64_t> cardinalities, const Space& continuous);

  Kind kind() const { return kind_; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t size() const;  // number of elements (product of shape)
  size_t nbytes() const { return static_cast<size_t>(size()) * DTypeSize(dtype_); }
  const std::vector<double>& low() const { return low_; }
  const std::vector<double>& high() const { return high_; }
  int64_t n() const { return nvec_.empty() ? 0 : nvec_[0]; }  // Discrete
  int64_t start() const { return start_; }                    // Discrete
  const std::vector<int64_t>& nvec() const { return nvec_; }  // cardinalities of discrete parts

  // Widths of an Action for this space.
  int64_t num_discrete() const;
  int64_t num_continuous() const;
  bool is_discrete() const { return kind_ == Kind::kDiscrete; }
  bool is_continuous() const { return kind_ == Kind::kBox; }
  bool is_bounded() const;  // every Box element has finite low and high

  // Empty if `a` belongs to the space, else why not (naming the element).
  std::string Check(const Action& a) const;
  bool Contains(const Action& a) const { return Check(a).empty(); }
  // Observation-style membership for Box spaces: values in [low, high] (NaN is outside).
  bool Contains(std::span<const double> values) const;

  // Draws a uniform member, NumPy-exact for Discrete and bounded float Box (Gymnasium's sample()).
  void Sample(Rng& rng, std::span<int64_t> discrete, std::span<float> continuous) const;
  // The same among the actions a mask allows (Gymnasium's sample(mask)): `mask` has one flag per
  // value of each discrete part (the nvec concatenated), 1 = allowed; null = Sample. Each part
  // draws uniformly among its allowed values (np_random.choice(np.flatnonzero(mask))); a part
  // with none allowed is an Error.
  void SampleMasked(Rng& rng, const uint8_t* mask, std::span<int64_t> discrete,
                    std::span<float> continuous) const;
  // Flags in a mask of this space's actions: the sum of the discrete parts' cardinalities.
  int64_t MaskSize() const;

  // Gymnasium flatten: Discrete and MultiDiscrete as one-hot blocks, the rest as is.
  int64_t FlatDim() const;
  void Flatten(const Action& a, std::span<float> out) const;
  void Unflatten(std::span<const float> flat, std::span<int64_t> discrete,
                 std::span<float> continuous) const;

  std::string ToString() const;  // Gymnasium's printable form, e.g. Box(-2.0, 2.0, (1,), float32)
  bool operator==(const Space& other) const = default;

 private:
  Kind kind_ = Kind::kBox;
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;  // element shape                          (rank)
  std::vector<double> low_;     // lower bound per continuous element     (num_continuous)
  std::vector<double> high_;    // upper bound per continuous element     (num_continuous)
  std::vector<int64_t> nvec_;   // cardinality per discrete component     (num_discrete)
  int64_t start_ = 0;           // Discrete: smallest value
};

// Shortest round-trip text of a value of the given dtype, like NumPy's repr ("2.0", "-inf").
std::string FormatNumber(double v, DType dtype);

}  // namespace rlforge
