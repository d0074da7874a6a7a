// Metrics of a run: metrics.csv (step,wall_time,tag,value; flushed as it goes) and a TensorBoard
// event file written by rlforge itself (TFRecord framing, masked CRC32C, Event and Summary protos
// encoded by hand): scalars, histograms, images (PNG or animated GIF), Markdown text, hparams
// sessions and SessionLog START records.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// A HistogramProto as TensorFlow builds it: its default bucket limits (0, +-1e-12 x 1.1^k below
// 1e20, +-DBL_MAX), value v counted in the first bucket whose limit exceeds it, runs of empty
// buckets collapsed into one; min, max, num, sum and sum of squares exact. Non-finite values are
// left out (TensorBoard cannot draw them).
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit;  // right edge of each bucket   (K)
  std::vector<double> bucket;        // count in each bucket         (K)
};
Histogram MakeHistogram(const float* values, int64_t n);
const std::vector<double>& DefaultBucketLimits();  // the 1551 limits above, increasing

// An hparams value: a number, a string or a bool (google.protobuf.Value).
using HParam = std::variant<double, std::string, bool>;

class TensorBoardWriter {
 public:
  // Creates `dir`/events.out.tfevents.<time>.<host>.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void AddScalar(std::string_view tag, double value, int64_t step, double wall_time);
  void AddHistogram(std::string_view tag, const Histogram& h, int64_t step, double wall_time);
  // An encoded PNG or GIF (TensorBoard's images plugin shows both; a GIF animates).
  void AddImage(std::string_view tag, const std::string& encoded, int width, int height,
                int channels, int64_t step, double wall_time);
  // Markdown, shown by the text plugin.
  void AddText(std::string_view tag, std::string_view markdown, int64_t step, double wall_time);
  // The hparams plugin's session records: its start (hparams, a group name) and end (status
  // 1 success, 2 failure, 3 running); TensorBoard takes the metrics from the run's scalars.
  void AddSessionStart(const std::map<std::string, HParam>& hparams, std::string_view group,
                       double start_time);
  void AddSessionEnd(int status, double end_time);
  // SessionLog START at `step`: TensorBoard drops what an earlier process wrote at step >= it.
  void AddRestart(int64_t step, double wall_time);
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
  TensorBoardWriter& tensorboard() { return tensorboard_; }

 private:
  std::FILE* csv_ = nullptr;
  TensorBoardWriter tensorboard_;
};

double WallTime();  // seconds since the Unix epoch

}  // namespace rlforge::io
