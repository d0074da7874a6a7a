#include "rlforge/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rlforge/core/error.h"
#include "rlforge/io/metrics.h"

namespace rlforge::io {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // safetensors' own limit
constexpr const char* kCrcKey = "rlforge.data_crc32c";
constexpr const char* kHeaderCrcKey = "rlforge.header_crc32c";

// CRC32C of the header's meaning: its JSON without the two checksums, dumped canonically (keys
// sorted, no spaces), so any change to a name, shape, offset or metadata value shows
std::string HeaderCrc(Json header) {
  if (header.contains("__metadata__") && header["__metadata__"].is_object()) {
    header["__metadata__"].erase(kCrcKey);
    header["__metadata__"].erase(kHeaderCrcKey);
  }
  return JsonCrc32cHex(std::move(header));
}

struct DTypeName {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {{DType::kFloat32, "F32", 4}, {DType::kFloat64, "F64", 8},
                                 {DType::kInt64, "I64", 8},   {DType::kInt32, "I32", 4},
                                 {DType::kUInt8, "U8", 1},    {DType::kBool, "BOOL", 1}};

// The tensor entry `name` of a header: dtype, shape and offsets checked against the data size.
Tensor ParseEntry(const std::string& source, const std::string& name, const Json& entry,
                  std::string_view data, std::pair<uint64_t, uint64_t>* range) {
  const auto fail = [&](const std::string& what) {
    throw Error(source + ": tensor \"" + name + "\": " + what);
  };
  if (!entry.is_object()) fail("expected an object with dtype, shape and data_offsets");
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") fail("unknown field " + key);
  }
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail("dtype: expected a string");
  const std::string dtype = entry["dtype"];
  Tensor t;
  size_t item = 0;
  for (const auto& d : kDTypes) {
    if (dtype == d.name) t.dtype = d.dtype, item = d.size;
  }
  if (item == 0) fail("dtype: " + dtype + " is not one of F32, F64, I64, I32, U8, BOOL");
  if (!entry.contains("shape") || !entry["shape"].is_array()) fail("shape: expected a list");
  uint64_t numel = 1;
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 40))
      fail("shape: expected non-negative integers");
    t.shape.push_back(d.get<int64_t>());
    numel *= d.get<uint64_t>();
    if (numel > (uint64_t{1} << 40)) fail("shape: too many elements");
  }
  const Json& off = entry.contains("data_offsets") ? entry["data_offsets"] : Json();
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    fail("data_offsets: expected [begin, end]");
  const uint64_t begin = off[0], end = off[1];
  if (begin > end || end > data.size())
    fail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
         "] lie outside the " + std::to_string(data.size()) + " data bytes (truncated file?)");
  if (end - begin != numel * item)
    fail("data_offsets span " + std::to_string(end - begin) + " bytes, but " + dtype +
         " of this shape needs " + std::to_string(numel * item));
  t.bytes.assign(data.substr(begin, end - begin));
  *range = {begin, end};
  return t;
}

void FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

const char* SafetensorsDType(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

size_t ItemSize(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

void TensorDict::PutBytes(const std::string& name, DType dtype, std::vector<int64_t> shape,
                          const void* data, size_t size) {
  Tensor t{dtype, std::move(shape), std::string(static_cast<const char*>(data), size)};
  if (static_cast<size_t>(t.numel()) * ItemSize(dtype) != size)
    throw std::logic_error("TensorDict::Put(" + name + "): shape does not match the data");
  tensors_[name] = std::move(t);
}

void TensorDict::PutText(const std::string& name, std::string_view text) {
  PutBytes(name, DType::kUInt8, {static_cast<int64_t>(text.size())}, text.data(), text.size());
}

void TensorDict::Fail(const std::string& key, const std::string& what) const {
  throw Error(source_ + ": " + key + ": " + what);
}

const Tensor& TensorDict::Get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) Fail(name, "missing (not a checkpoint of this algorithm and config?)");
  return it->second;
}

std::string TensorDict::Text(const std::string& name) const {
  const Tensor& t = Get(name);
  if (t.dtype != DType::kUInt8 || t.shape.size() != 1) Fail(name, "expected a 1-D U8 tensor");
  return t.bytes;
}

const std::string& TensorDict::Meta(const std::string& key) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end()) Fail("__metadata__." + key, "missing");
  return it->second;
}

std::string EncodeSafetensors(const TensorDict& dict) {
  Json header = Json::object();
  uint64_t offset = 0;
  std::string data;
  for (const auto& [name, t] : dict.tensors()) {
    header[name] = {{"dtype", SafetensorsDType(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
    data += t.bytes;
  }
  Json meta = Json::object();
  for (const auto& [k, v] : dict.metadata()) meta[k] = v;
  header["__metadata__"] = meta;  // as the header checksum sees it: without the checksums
  meta[kCrcKey] = Crc32cHex(data.data(), data.size());
  meta[kHeaderCrcKey] = HeaderCrc(header);
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text + data;
}

TensorDict DecodeSafetensors(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 8)
    throw Error(source + ": not a safetensors file (" + std::to_string(bytes.size()) +
                " bytes, truncated?)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  if (n > kMaxHeaderBytes || n > bytes.size() - 8) {
    if (bytes.substr(0, 2) == "PK")
      throw Error(source +
                  ": a LibTorch archive (.pt) from an older rlforge, not a safetensors "
                  "checkpoint; this version cannot read it (train again)");
    throw Error(source + ": not a safetensors file (header length " + std::to_string(n) +
                " exceeds the file's " + std::to_string(bytes.size()) + " bytes: truncated?)");
  }
  // JSON padded with spaces; a NUL would end nlohmann's parse early, hiding what follows it
  if (bytes.substr(8, n).find('\0') != std::string_view::npos)
    throw Error(source + ": safetensors header holds a NUL byte (damaged?)");
  Json header;
  try {
    header = Json::parse(bytes.substr(8, n));
  } catch (const std::exception& e) {
    throw Error(source + ": safetensors header is not valid JSON (" +
                std::string(e.what()).substr(0, 120) + ")");
  }
  if (!header.is_object()) throw Error(source + ": safetensors header is not a JSON object");
  const std::string_view data = bytes.substr(8 + n);
  TensorDict dict;
  dict.set_source(source);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(source + ": __metadata__: expected a string map");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw Error(source + ": __metadata__." + k + ": expected a string");
        dict.metadata()[k] = v.get<std::string>();
      }
      continue;
    }
    std::pair<uint64_t, uint64_t> range;
    const Tensor t = ParseEntry(source, name, entry, data, &range);
    dict.PutBytes(name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
    ranges.push_back(range);
  }
  // the tensors tile the data exactly, as the reference reader demands
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered) throw Error(source + ": tensor data overlap or leave gaps (corrupt)");
    covered = end;
  }
  if (covered != data.size())
    throw Error(source + ": " + std::to_string(data.size() - covered) +
                " bytes after the last tensor (corrupt)");
  const auto crc = dict.metadata().find(kCrcKey);
  if (crc != dict.metadata().end()) {
    if (crc->second != Crc32cHex(data.data(), data.size()))
      throw Error(source + ": tensor data do not match their checksum (" + kCrcKey +
                  "): the file is corrupt");
  }
  const auto header_crc = dict.metadata().find(kHeaderCrcKey);
  if (header_crc == dict.metadata().end() && crc != dict.metadata().end())
    throw Error(source + ": has " + kCrcKey + " but no " + kHeaderCrcKey +
                ": the file is corrupt (or from an older rlforge; train again)");
  if (header_crc != dict.metadata().end()) {
    if (header_crc->second != HeaderCrc(header))
      throw Error(source + ": header does not match its checksum (" + kHeaderCrcKey +
                  "): the file is corrupt");
    dict.metadata().erase(header_crc);
  }
  dict.metadata().erase(kCrcKey);
  return dict;
}

void WriteSafetensors(const std::string& path, const TensorDict& dict) {
  WriteFileAtomic(path, EncodeSafetensors(dict));
  const std::string dir = std::filesystem::path(path).parent_path().string();
  FsyncPath(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);  // the rename itself
}

TensorDict ReadSafetensors(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such checkpoint file");
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(path + ": cannot read");
  return DecodeSafetensors(bytes, path);
}

}  // namespace rlforge::io
