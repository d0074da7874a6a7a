#include "rlforge/io/metrics.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"

namespace rlforge::io {
namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

// protobuf wire format
void Varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void Key(std::string& out, int field, int wire_type) {
  Varint(out, static_cast<uint64_t>(field << 3 | wire_type));
}
void Bytes(std::string& out, int field, std::string_view bytes) {
  Key(out, field, 2);
  Varint(out, bytes.size());
  out += bytes;
}
template <typename T>
void Fixed(std::string& out, int field, T value) {
  Key(out, field, sizeof(T) == 8 ? 1 : 5);
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
// Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
std::string ScalarEvent(std::string_view tag, double value, int64_t step, double wall_time) {
  std::string v;
  Bytes(v, 1, tag);
  Fixed(v, 2, static_cast<float>(value));
  std::string summary;
  Bytes(summary, 1, v);
  std::string event;
  Fixed(event, 1, wall_time);
  Key(event, 2, 0);
  Varint(event, static_cast<uint64_t>(step));
  Bytes(event, 5, summary);
  return event;
}

std::string VersionEvent(double wall_time) {
  std::string event;
  Fixed(event, 1, wall_time);
  Bytes(event, 3, "brain.Event:2");
  return event;
}

}  // namespace

namespace {

uint32_t Crc32cTable(uint32_t crc, const uint8_t* p, size_t size) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// SSE4.2's crc32 instruction: 8 bytes a step (~20x the table's speed on checkpoint-sized data)
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(uint32_t crc, const uint8_t* p,
                                                       size_t size) {
  uint64_t c = crc;
  for (; size >= 8; p += 8, size -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  return Crc32cTable(static_cast<uint32_t>(c), p, size);
}
#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t crc_before) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t crc = crc_before ^ 0xFFFFFFFFu;
#if defined(__x86_64__)
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  crc = sse42 ? Crc32cSse42(crc, p, size) : Crc32cTable(crc, p, size);
#else
  crc = Crc32cTable(crc, p, size);
#endif
  return crc ^ 0xFFFFFFFFu;
}

std::string Crc32cHex(const void* data, size_t size) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", Crc32c(data, size));
  return buf;
}

std::string JsonCrc32cHex(nlohmann::json j, const char* without) {
  if (without != nullptr && j.is_object()) j.erase(without);
  const std::string text = j.dump();
  return Crc32cHex(text.data(), text.size());
}

uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const double now = WallTime();
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." + host;
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr)
    throw Error(path_ + ": cannot create TensorBoard file: " + std::strerror(errno));
  WriteRecord(VersionEvent(now));
  Flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::WriteRecord(const std::string& data) {
  // uint64 length, uint32 masked crc(length), data, uint32 masked crc(data); little-endian
  const uint64_t length = data.size();
  const uint32_t length_crc = MaskCrc(Crc32c(&length, sizeof(length)));
  const uint32_t data_crc = MaskCrc(Crc32c(data.data(), data.size()));
  std::fwrite(&length, sizeof(length), 1, file_);
  std::fwrite(&length_crc, sizeof(length_crc), 1, file_);
  std::fwrite(data.data(), 1, data.size(), file_);
  std::fwrite(&data_crc, sizeof(data_crc), 1, file_);
}

void TensorBoardWriter::AddScalar(std::string_view tag, double value, int64_t step,
                                  double wall_time) {
  WriteRecord(ScalarEvent(tag, value, step, wall_time));
}

void TensorBoardWriter::Flush() { std::fflush(file_); }

MetricsLogger::MetricsLogger(const std::string& run_dir) : tensorboard_(run_dir) {
  const std::string path = run_dir + "/metrics.csv";
  const bool fresh = !std::filesystem::exists(path) || std::filesystem::file_size(path) == 0;
  csv_ = std::fopen(path.c_str(), "a");
  if (csv_ == nullptr) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (fresh) std::fputs("step,wall_time,tag,value\n", csv_);
}

MetricsLogger::~MetricsLogger() {
  if (csv_ != nullptr) std::fclose(csv_);
}

void MetricsLogger::Log(int64_t step, std::string_view tag, double value) {
  const double now = WallTime();
  std::fprintf(csv_, "%lld,%.3f,%.*s,%.9g\n", static_cast<long long>(step), now,
               static_cast<int>(tag.size()), tag.data(), value);
  std::fflush(csv_);
  tensorboard_.AddScalar(tag, value, step, now);
  tensorboard_.Flush();
}

}  // namespace rlforge::io
