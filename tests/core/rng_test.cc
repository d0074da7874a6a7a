#include "rlforge/core/rng.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "rlforge/core/error.h"

namespace rlforge {
namespace {

const std::string kPath = std::string(RLFORGE_GOLDEN_DIR) + "/pcg64_reference.json";

nlohmann::json LoadVectors() {
  std::ifstream in(kPath);
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in)["vectors"];
}

// Seeds as written: some exceed 64 bits, which a JSON double cannot hold exactly.
std::vector<std::string> SeedTexts() {
  std::ifstream in(kPath);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> seeds;
  const std::regex pattern("\"seed\":\\s*([0-9]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    seeds.push_back((*it)[1]);
  }
  return seeds;
}

TEST(SeedSequence, MatchesNumPyPoolAndState) {
  const auto vectors = LoadVectors();
  const auto seeds = SeedTexts();
  ASSERT_GE(vectors.size(), 3u);
  ASSERT_EQ(seeds.size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    const auto& v = vectors[i];
    const SeedSequence seq(DecimalToWords(seeds[i]));
    const auto pool = v["seed_sequence_pool_u32"].get<std::vector<uint32_t>>();
    EXPECT_EQ(std::vector<uint32_t>(seq.pool().begin(), seq.pool().end()), pool)
        << "seed " << v["seed"];
    EXPECT_EQ(seq.GenerateState32(8), v["generate_state_u32x8"].get<std::vector<uint32_t>>())
        << "seed " << v["seed"];
  }
}

TEST(Pcg64, MatchesNumPyStateAndOutputs) {
  const auto vectors = LoadVectors();
  const auto seeds = SeedTexts();
  for (size_t i = 0; i < vectors.size(); ++i) {
    const auto& v = vectors[i];
    Rng rng(SeedSequence(DecimalToWords(seeds[i])));
    EXPECT_EQ(Uint128ToString(rng.state()), v["pcg64_state_after_seeding"].get<std::string>());
    EXPECT_EQ(Uint128ToString(rng.inc()), v["pcg64_inc"].get<std::string>());
    Rng rng2 = rng;
    for (const auto& u : v["first_4_next_uint64"])
      EXPECT_EQ(std::to_string(rng.NextUint64()), u.get<std::string>());
    for (const auto& d : v["first_4_next_double"]) EXPECT_EQ(rng2.Random(), d.get<double>());
  }
}

TEST(Pcg64, LargeSeedsUseSeveralEntropyWords) {
  // 2^32 + 1 is two 32-bit words; it must not collide with seed 1.
  EXPECT_NE(Rng(1).NextUint64(), Rng((uint64_t{1} << 32) + 1).NextUint64());
}

TEST(Rng, UniformAndIntegersStayInRange) {
  Rng rng(3);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.Uniform(-0.6, -0.4);
    EXPECT_GE(u, -0.6);
    EXPECT_LT(u, -0.4);
    const int64_t k = rng.Integers(7);
    EXPECT_GE(k, 0);
    EXPECT_LT(k, 7);
  }
  EXPECT_THROW(rng.Integers(0), Error);
}

TEST(Rng, SerializeRoundTripsAndRejectsGarbage) {
  Rng a(11);
  a.NextUint64();
  Rng b(0);
  b.Deserialize(a.Serialize());
  EXPECT_EQ(a.NextUint64(), b.NextUint64());
  EXPECT_THROW(b.Deserialize("12 abc"), Error);
  EXPECT_THROW(b.Deserialize("12"), Error);
  EXPECT_THROW(b.Deserialize("12 4 0 0"), Error);  // even increment
  EXPECT_THROW(b.Deserialize("12 5 2 0"), Error);
}

TEST(Rng, SerializeKeepsTheHalfUsedWord) {
  Rng a(4);
  a.NextUint32();  // the high half is now buffered
  Rng b(0);
  b.Deserialize(a.Serialize());
  EXPECT_EQ(a.NextUint32(), b.NextUint32());
  EXPECT_EQ(a.Integers(1000), b.Integers(1000));
}

TEST(Rng, DecimalToWords) {
  EXPECT_EQ(DecimalToWords("0"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(DecimalToWords("4294967301"), (std::vector<uint32_t>{5, 1}));
  EXPECT_EQ(DecimalToWords("18446744073709551623"), (std::vector<uint32_t>{7, 0, 1}));
  EXPECT_EQ(SeedSequence(DecimalToWords("12345")).pool(), SeedSequence(12345).pool());
  EXPECT_THROW(DecimalToWords("-3"), Error);
  EXPECT_THROW(DecimalToWords(""), Error);
}

}  // namespace
}  // namespace rlforge
