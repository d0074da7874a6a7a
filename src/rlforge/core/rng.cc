#include "rlforge/core/rng.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "rlforge/core/error.h"

namespace rlforge {
namespace {

// SeedSequence mixing constants (numpy/random/bit_generator.pyx).
constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;
constexpr size_t kPoolSize = 4;

// PCG64 default multiplier.
constexpr uint128 kPcgMult =
    (static_cast<uint128>(2549297995355413924ULL) << 64) | 4865540595714422341ULL;

uint32_t HashMix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t Mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

std::vector<uint32_t> WordsOf(uint64_t seed) {
  std::vector<uint32_t> words;
  do {
    words.push_back(static_cast<uint32_t>(seed));
    seed >>= 32;
  } while (seed != 0);
  return words;
}

}  // namespace

SeedSequence::SeedSequence(uint64_t seed) : SeedSequence(WordsOf(seed)) {}

SeedSequence::SeedSequence(std::span<const uint32_t> entropy) {
  uint32_t hash_const = kInitA;
  for (size_t i = 0; i < kPoolSize; ++i) {
    pool_[i] = HashMix(i < entropy.size() ? entropy[i] : 0, hash_const);
  }
  for (size_t src = 0; src < kPoolSize; ++src) {
    for (size_t dst = 0; dst < kPoolSize; ++dst) {
      if (src != dst) pool_[dst] = Mix(pool_[dst], HashMix(pool_[src], hash_const));
    }
  }
  for (size_t src = kPoolSize; src < entropy.size(); ++src) {
    for (size_t dst = 0; dst < kPoolSize; ++dst) {
      pool_[dst] = Mix(pool_[dst], HashMix(entropy[src], hash_const));
    }
  }
}

std::vector<uint32_t> SeedSequence::GenerateState32(size_t n_words) const {
  std::vector<uint32_t> state(n_words);
  uint32_t hash_const = kInitB;
  for (size_t i = 0; i < n_words; ++i) {
    uint32_t value = pool_[i % kPoolSize];
    value ^= hash_const;
    hash_const *= kMultB;
    value *= hash_const;
    value ^= value >> kXShift;
    state[i] = value;
  }
  return state;
}

std::vector<uint64_t> SeedSequence::GenerateState64(size_t n_words) const {
  const auto words = GenerateState32(2 * n_words);
  std::vector<uint64_t> state(n_words);
  for (size_t i = 0; i < n_words; ++i) {
    state[i] =
        static_cast<uint64_t>(words[2 * i]) | (static_cast<uint64_t>(words[2 * i + 1]) << 32);
  }
  return state;
}

Rng::Rng()
    : Rng(SeedSequence([] {
        std::random_device device;
        std::vector<uint32_t> entropy(4);
        for (auto& w : entropy) w = device();
        return entropy;
      }())) {}

Rng::Rng(const SeedSequence& seq) {
  const auto v = seq.GenerateState64(4);
  const uint128 init_state = (static_cast<uint128>(v[0]) << 64) | v[1];
  const uint128 init_seq = (static_cast<uint128>(v[2]) << 64) | v[3];
  // pcg_setseq_128_srandom_r
  state_ = 0;
  inc_ = (init_seq << 1) | 1;
  state_ = state_ * kPcgMult + inc_;
  state_ += init_state;
  state_ = state_ * kPcgMult + inc_;
}

uint64_t Rng::NextUint64() {
  state_ = state_ * kPcgMult + inc_;
  const auto high = static_cast<uint64_t>(state_ >> 64);
  const auto low = static_cast<uint64_t>(state_);
  const unsigned rot = static_cast<unsigned>(state_ >> 122);
  const uint64_t x = high ^ low;
  return (x >> rot) | (x << ((64 - rot) & 63));
}

uint32_t Rng::NextUint32() {
  if (has_uint32_) {
    has_uint32_ = false;
    return uinteger_;
  }
  const uint64_t next = NextUint64();
  has_uint32_ = true;
  uinteger_ = static_cast<uint32_t>(next >> 32);
  return static_cast<uint32_t>(next);
}

double Rng::Random() {
  return static_cast<double>(NextUint64() >> 11) * (1.0 / 9007199254740992.0);
}

double Rng::Uniform(double low, double high) {
  const double range = high - low;
  return low + range * Random();
}

int64_t Rng::Integers(int64_t n) {
  if (n <= 0) throw Error("Rng::Integers: expected n > 0, got " + std::to_string(n));
  const auto rng = static_cast<uint64_t>(n - 1);
  if (rng == 0) return 0;
  if (rng <= 0xFFFFFFFFULL) {
    // random_bounded_uint64 -> buffered_bounded_lemire_uint32 on the generator's next_uint32
    const auto rng32 = static_cast<uint32_t>(rng);
    auto next32 = [this] { return NextUint32(); };
    if (rng32 == 0xFFFFFFFFu) return next32();
    const uint32_t rng_excl = rng32 + 1;
    uint64_t m = static_cast<uint64_t>(next32()) * rng_excl;
    auto leftover = static_cast<uint32_t>(m);
    if (leftover < rng_excl) {
      const uint32_t threshold = (0xFFFFFFFFu - rng32) % rng_excl;
      while (leftover < threshold) {
        m = static_cast<uint64_t>(next32()) * rng_excl;
        leftover = static_cast<uint32_t>(m);
      }
    }
    return static_cast<int64_t>(m >> 32);
  }
  // bounded_lemire_uint64
  const uint64_t rng_excl = rng + 1;
  uint128 m = static_cast<uint128>(NextUint64()) * rng_excl;
  auto leftover = static_cast<uint64_t>(m);
  if (leftover < rng_excl) {
    const uint64_t threshold = (0xFFFFFFFFFFFFFFFFULL - rng) % rng_excl;
    while (leftover < threshold) {
      m = static_cast<uint128>(NextUint64()) * rng_excl;
      leftover = static_cast<uint64_t>(m);
    }
  }
  return static_cast<int64_t>(m >> 64);
}

double Rng::Normal(double mean, double stddev) {
  const double u1 = 1.0 - Random();  // (0, 1]
  const double u2 = Random();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Rng::Exponential() { return -std::log1p(-Random()); }

std::string Uint128ToString(uint128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v != 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

uint128 Uint128FromString(const std::string& s) {
  if (s.empty() || s.size() > 39)
    throw Error("expected a 128-bit decimal integer, got \"" + s + "\"");
  uint128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw Error("expected a 128-bit decimal integer, got \"" + s + "\"");
    const uint128 next = v * 10 + static_cast<unsigned>(c - '0');
    if (next / 10 != v) throw Error("128-bit integer out of range: \"" + s + "\"");
    v = next;
  }
  return v;
}

std::string Rng::Serialize() const {
  return Uint128ToString(state_) + " " + Uint128ToString(inc_) + " " + (has_uint32_ ? "1" : "0") +
         " " + std::to_string(uinteger_);
}

void Rng::Deserialize(const std::string& text) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(' ', begin), text.size());
    parts.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  if (parts.size() != 4 || (parts[2] != "0" && parts[2] != "1")) {
    throw Error("rng state: expected \"STATE INC HAS_UINT32 UINTEGER\", got \"" + text + "\"");
  }
  const uint128 inc = Uint128FromString(parts[1]);
  if ((inc & 1) == 0) throw Error("rng state: increment must be odd");
  const uint128 uinteger = Uint128FromString(parts[3]);
  if (uinteger > 0xFFFFFFFFu) throw Error("rng state: UINTEGER must fit in 32 bits");
  SetState(Uint128FromString(parts[0]), inc);
  has_uint32_ = parts[2] == "1";
  uinteger_ = static_cast<uint32_t>(uinteger);
}

std::vector<uint32_t> DecimalToWords(const std::string& decimal) {
  if (decimal.empty() || decimal.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("seed: expected a non-negative integer, got \"" + decimal + "\"");
  }
  // repeated division of the decimal digits by 2^32
  std::string digits = decimal;
  std::vector<uint32_t> words;
  while (!(digits.empty() || digits == "0")) {
    std::string quotient;
    uint64_t remainder = 0;
    for (char c : digits) {
      remainder = remainder * 10 + static_cast<uint64_t>(c - '0');
      const uint64_t q = remainder >> 32;
      remainder &= 0xFFFFFFFFULL;
      if (!quotient.empty() || q != 0) quotient += std::to_string(q);
    }
    words.push_back(static_cast<uint32_t>(remainder));
    digits = quotient.empty() ? "0" : quotient;
  }
  if (words.empty()) words.push_back(0);
  return words;
}

}  // namespace rlforge
