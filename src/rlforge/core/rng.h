// NumPy-compatible random numbers: SeedSequence -> PCG64 ->
// Generator.random()/uniform()/integers(). `Rng(seed)` equals
// `np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))` bit for bit, which is what
// Gymnasium's `reset(seed=...)` and `space.seed(...)` use.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rlforge {

using uint128 = unsigned __int128;

// NumPy's SeedSequence (no spawn key): entropy words -> 4-word pool -> generate_state().
class SeedSequence {
 public:
  explicit SeedSequence(std::span<const uint32_t> entropy);
  explicit SeedSequence(uint64_t seed);

  const std::array<uint32_t, 4>& pool() const { return pool_; }
  std::vector<uint32_t> GenerateState32(size_t n_words) const;
  std::vector<uint64_t> GenerateState64(size_t n_words) const;

 private:
  std::array<uint32_t, 4> pool_{};  // mixed entropy pool   (4)
};

// PCG64 (XSL-RR 128/64) as in NumPy, plus the Generator methods Gymnasium relies on.
class Rng {
 public:
  Rng();  // seeded from the OS entropy source, like np.random.default_rng()
  explicit Rng(uint64_t seed) : Rng(SeedSequence(seed)) {}
  explicit Rng(const SeedSequence& seq);

  uint64_t NextUint64();
  uint32_t NextUint32();                      // halves of one u64, low first (PCG64's next32)
  double Random();                            // [0, 1): (u64 >> 11) * 2^-53
  double Uniform(double low, double high);    // low + (high - low) * Random()
  int64_t Integers(int64_t n);                // [0, n), NumPy's bounded Lemire method
  double Normal(double mean, double stddev);  // Box-Muller (not NumPy's ziggurat)
  double Exponential();                       // -log(1 - Random())

  uint128 state() const { return state_; }
  uint128 inc() const { return inc_; }
  void SetState(uint128 state, uint128 inc) {
    state_ = state;
    inc_ = inc;
    has_uint32_ = false;
    uinteger_ = 0;
  }
  // NumPy's buffered 32-bit half (next_uint32), part of the exact state.
  bool has_uint32() const { return has_uint32_; }
  uint32_t uinteger() const { return uinteger_; }
  void SetBuffered(bool has_uint32, uint32_t uinteger) {
    has_uint32_ = has_uint32;
    uinteger_ = uinteger;
  }
  // State as text ("state inc has_uint32 uinteger" in decimal) for checkpoints.
  std::string Serialize() const;
  void Deserialize(const std::string& text);

 private:
  uint128 state_ = 0;        // LCG state
  uint128 inc_ = 0;          // LCG increment (odd)
  bool has_uint32_ = false;  // NextUint32 holds the high half of the last u64
  uint32_t uinteger_ = 0;    // that high half
};

// Decimal text of any size -> little-endian 32-bit words, as SeedSequence takes an int seed.
std::vector<uint32_t> DecimalToWords(const std::string& decimal);

std::string Uint128ToString(uint128 v);
uint128 Uint128FromString(const std::string& s);

}  // namespace rlforge
