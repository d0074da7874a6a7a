// The safetensors reader and writer: round trip, and every kind of damage a clear error.
#include "rlforge/io/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace rlforge::io {
namespace {

using rlforge::testing::ErrorOf;

TensorDict Sample() {
  TensorDict d;
  d.Put("actor.0.weight", std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  d.Put("step", std::vector<int64_t>{42}, {});
  d.Put("returns", std::vector<double>{-1.5, 2.25});
  d.PutText("rng", "123 457 0 0");
  d.metadata()["rlforge.config"] = "algo: ppo\n";
  return d;
}

// The header of encoded bytes, as text.
std::string Header(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  return bytes.substr(8, n);
}

// `bytes` with its header replaced by `header` (padded to 8 bytes).
std::string WithHeader(const std::string& bytes, std::string header) {
  const std::string old = Header(bytes);
  const std::string data = bytes.substr(8 + old.size());
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, RoundTripKeepsEveryTensorAndTheMetadata) {
  const std::string bytes = EncodeSafetensors(Sample());
  EXPECT_EQ(Header(bytes).size() % 8, 0u);  // the data start 8-byte aligned
  const TensorDict d = DecodeSafetensors(bytes, "x.safetensors");
  std::vector<float> w(6);
  d.Read("actor.0.weight", w, {2, 3});
  EXPECT_EQ(w, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(d.Get("actor.0.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(d.Scalar<int64_t>("step"), 42);
  EXPECT_TRUE(d.Get("step").shape.empty());
  std::vector<double> r(2);
  d.Read("returns", r);
  EXPECT_EQ(r, (std::vector<double>{-1.5, 2.25}));
  EXPECT_EQ(d.Text("rng"), "123 457 0 0");
  EXPECT_EQ(d.Meta("rlforge.config"), "algo: ppo\n");
  EXPECT_EQ(d.metadata().count("rlforge.data_crc32c"), 0u);  // checked, then dropped
  // the header is what Hugging Face's reader expects
  const std::string h = Header(bytes);
  EXPECT_NE(h.find(R"("actor.0.weight":{"data_offsets":[)"), std::string::npos) << h;
  EXPECT_NE(h.find(R"("dtype":"F32","shape":[2,3])"), std::string::npos) << h;
}

TEST(Safetensors, WritesAtomicallyAndReadsBack) {
  const auto dir = rlforge::testing::TempPath("st");
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.safetensors").string();
  WriteSafetensors(path, Sample());
  EXPECT_EQ(ReadSafetensors(path).Scalar<int64_t>("step"), 42);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "a.safetensors");  // no temp file left
  std::filesystem::remove_all(dir);
}

TEST(Safetensors, DamagedFilesAreClearErrors) {
  const std::string good = EncodeSafetensors(Sample());
  const auto error = [](const std::string& bytes) {
    return ErrorOf([&] { DecodeSafetensors(bytes, "f.safetensors"); });
  };
  // truncated: inside the length, inside the header, inside the data
  EXPECT_NE(error(good.substr(0, 5)).find("f.safetensors: not a safetensors file"),
            std::string::npos);
  EXPECT_NE(error(good.substr(0, 20)).find("header length"), std::string::npos);
  EXPECT_NE(error(good.substr(0, good.size() - 3)).find("lie outside"), std::string::npos);
  // a header that is no JSON, or no object
  const std::string h = Header(good);
  EXPECT_NE(error(WithHeader(good, "{nope")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error(WithHeader(good, "[1, 2]")).find("not a JSON object"), std::string::npos);
  // a wrong dtype, an unknown dtype, a shape that does not match the bytes, bad offsets
  std::string wrong = h;
  wrong.replace(wrong.find(R"("dtype":"F32")"), 13, R"("dtype":"F64")");
  EXPECT_NE(error(WithHeader(good, wrong)).find("needs 48"), std::string::npos);
  std::string unknown = h;
  unknown.replace(unknown.find(R"("dtype":"F32")"), 13, R"("dtype":"Q99")");
  EXPECT_NE(error(WithHeader(good, unknown)).find("dtype: Q99 is not one of"), std::string::npos);
  std::string shape = h;
  shape.replace(shape.find("[2,3]"), 5, "[3,3]");
  EXPECT_NE(error(WithHeader(good, shape)).find("tensor \"actor.0.weight\": data_offsets span 24"),
            std::string::npos);
  std::string offsets = h;
  const size_t at = offsets.find(R"("data_offsets":[)") + 16;
  offsets.replace(at, offsets.find(']', at) - at, "0,999999");
  EXPECT_NE(error(WithHeader(good, offsets)).find("lie outside"), std::string::npos);
  // a flipped data bit fails the checksum
  std::string flipped = good;
  flipped[flipped.size() - 1] ^= 1;
  EXPECT_NE(error(flipped).find("do not match their checksum"), std::string::npos);
  // a LibTorch zip archive is named
  EXPECT_NE(error("PK\x03\x04" + std::string(100, '\0')).find("LibTorch archive (.pt)"),
            std::string::npos);
}

TEST(Safetensors, ReadsCheckDtypeAndShapeAgainstTheConfig) {
  const TensorDict d = DecodeSafetensors(EncodeSafetensors(Sample()), "c.safetensors");
  std::vector<float> w(6);
  EXPECT_NE(ErrorOf([&] {
              d.Read("actor.0.weight", w, {3, 2});
            }).find("c.safetensors: actor.0.weight: has shape [2, 3], expected [3, 2]"),
            std::string::npos);
  std::vector<double> wd(6);
  EXPECT_NE(ErrorOf([&] { d.Read("actor.0.weight", wd); }).find("holds F32, expected F64"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { d.Get("critic.0.weight"); }).find("critic.0.weight: missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { d.Meta("nope"); }).find("__metadata__.nope: missing"), std::string::npos);
}

}  // namespace
}  // namespace rlforge::io
