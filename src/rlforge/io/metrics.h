// Scalar metrics of a run: metrics.csv (step,wall_time,tag,value; flushed as it goes) and a
// TensorBoard event file written by rlforge itself (TFRecord framing, masked CRC32C, Event and
// Summary protos encoded by hand).
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace rlforge::io {

// CRC-32C (Castagnoli), and TFRecord's masked form of it.
// CRC32C of data; with crc_before, of the bytes that gave crc_before followed by data.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc_before = 0);
uint32_t MaskCrc(uint32_t crc);
// Crc32c(data, size) as 8 lowercase hex digits, as the checksums in our files are written.
std::string Crc32cHex(const void* data, size_t size);
// Crc32cHex of what `j` means: its JSON without the key `without` (its own checksum), dumped
// canonically (keys sorted, no spaces), so a change to any name or value shows and spacing does
// not.
std::string JsonCrc32cHex(nlohmann::json j, const char* without = nullptr);

class TensorBoardWriter {
 public:
  // Creates `dir`/events.out.tfevents.<time>.<host>.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void AddScalar(std::string_view tag, double value, int64_t step, double wall_time);
  void Flush();
  const std::string& path() const { return path_; }

 private:
  void WriteRecord(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

class MetricsLogger {
 public:
  // Appends to run_dir/metrics.csv (a header is written to a new file) and a TensorBoard file.
  explicit MetricsLogger(const std::string& run_dir);
  ~MetricsLogger();
  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;

  void Log(int64_t step, std::string_view tag, double value);

 private:
  std::FILE* csv_ = nullptr;
  TensorBoardWriter tensorboard_;
};

double WallTime();  // seconds since the Unix epoch

}  // namespace rlforge::io
