#include "rlforge/io/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "rlforge/core/error.h"
#include "test_util.h"

namespace rlforge::io {
namespace {

namespace fs = std::filesystem;
using rlforge::testing::ErrorOf;
using rlforge::testing::TempPath;

TEST(Npy, RoundTripsEveryDtype) {
  const fs::path p = TempPath("rt.npy");
  const std::vector<double> f64 = {1.5, -2.25, 3.0, 1e300, -0.0, 7.0};
  WriteNpy(p.string(), DType::kFloat64, {2, 3}, f64.data());
  NpyArray a = ReadNpy(p.string());
  EXPECT_EQ(a.dtype, DType::kFloat64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(a.data.data(), f64.data(), 48), 0);
  // the header is padded so the data starts at a multiple of 64 bytes
  std::ifstream in(p, std::ios::binary);
  std::string head(10, '\0');
  in.read(head.data(), 10);
  EXPECT_EQ(head.substr(1, 5), "NUMPY");
  EXPECT_EQ((10 + static_cast<uint8_t>(head[8]) + 256 * static_cast<uint8_t>(head[9])) % 64, 0);
  const bool flags[3] = {true, false, true};
  WriteNpy(p.string(), DType::kBool, {3}, flags);
  EXPECT_EQ(ReadNpy(p.string()).shape, (std::vector<int64_t>{3}));
  const int32_t scalar = 42;
  WriteNpy(p.string(), DType::kInt32, {}, &scalar);
  a = ReadNpy(p.string());
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(*reinterpret_cast<const int32_t*>(a.data.data()), 42);
  fs::remove(p);
}

TEST(Npy, RejectsBadFilesByName) {
  const fs::path p = TempPath("bad.npy");
  std::ofstream(p, std::ios::binary) << "hello";
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find("truncated file"), std::string::npos);
  std::ofstream(p, std::ios::binary) << "helloworld!!";
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find(p.string() + ": not a .npy file"),
            std::string::npos);
  auto header_file = [&](const std::string& dict, size_t data_bytes) {
    std::string h = dict;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string bytes =
        std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h;
    bytes.append(data_bytes, '\0');
    std::ofstream(p, std::ios::binary) << bytes;
  };
  header_file("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", 32);
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find("unsupported dtype '<c16'"),
            std::string::npos);
  header_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find("Fortran-ordered"), std::string::npos);
  header_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12);
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find("data size mismatch"), std::string::npos);
  header_file("{'descr': '|O', 'fortran_order': False, 'shape': (), }", 8);
  EXPECT_NE(ErrorOf([&] { ReadNpy(p.string()); }).find("unsupported dtype '|O'"),
            std::string::npos);  // no pickle
  EXPECT_NE(ErrorOf([&] { ReadNpy("/nonexistent/x.npy"); }).find("cannot open"), std::string::npos);
  fs::remove(p);
}

TEST(Npy, FailedWriteLeavesTheOldFile) {
  const fs::path p = TempPath("keep.npy");
  const float v[2] = {1, 2};
  WriteNpy(p.string(), DType::kFloat32, {2}, v);
  EXPECT_THROW(WriteNpy("/nonexistent/dir/x.npy", DType::kFloat32, {2}, v), Error);
  EXPECT_EQ(ReadNpy(p.string()).shape, (std::vector<int64_t>{2}));
  fs::remove(p);
}

}  // namespace
}  // namespace rlforge::io
