#include "rlforge/io/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <numeric>
#include <regex>
#include <utility>

#include "rlforge/core/error.h"

namespace rlforge::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

int64_t Count(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::string ShapeTuple(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "") +
         (i + 1 < shape.size() ? " " : "");
  return s + ")";
}

DType DTypeFromDescr(const std::string& descr, const std::string& path) {
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kUInt8,
                  DType::kBool}) {
    if (descr == NpyDescr(d)) return d;
  }
  if (descr == "=f4" || descr == "=f8") return descr[2] == '4' ? DType::kFloat32 : DType::kFloat64;
  throw Error(path + ": unsupported dtype '" + descr +
              "' (expected one of <f4 <f8 <i4 <i8 |u1 |b1)");
}

void WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": write failed: " + std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string NpyDescr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt64:
      return "<i8";
    case DType::kInt32:
      return "<i4";
    case DType::kUInt8:
      return "|u1";
    case DType::kBool:
      return "|b1";
  }
  return "?";
}

namespace {

std::string NpyPrefix(DType dtype, const std::vector<int64_t>& shape) {
  std::string header = "{'descr': '" + NpyDescr(dtype) +
                       "', 'fortran_order': False, 'shape': " + ShapeTuple(shape) + ", }";
  // magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending
  // in \n
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string prefix(kMagic, 6);
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xFF);
  prefix += static_cast<char>(header.size() >> 8);
  return prefix + header;
}

}  // namespace

NpyWriter::NpyWriter(const std::string& path, DType dtype, const std::vector<int64_t>& shape)
    : path_(path),
      tmp_(path + ".tmp." + std::to_string(::getpid())),
      expected_(static_cast<size_t>(Count(shape)) * DTypeSize(dtype)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot write: " + std::strerror(errno));
  const std::string prefix = NpyPrefix(dtype, shape);
  WriteAll(fd_, prefix.data(), prefix.size(), path_);
  header_ = prefix.size();
}

void NpyWriter::WriteAt(size_t data_offset, const void* data, size_t bytes) {
  if (data_offset + bytes > expected_) throw Error(path_ + ": write past the declared data size");
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n =
        ::pwrite(fd_, p + done, bytes - done, static_cast<off_t>(header_ + data_offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": write failed: " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  written_ += bytes;
}

NpyWriter::~NpyWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void NpyWriter::Write(const void* data, size_t bytes) {
  if (written_ + bytes > expected_) throw Error(path_ + ": more data than the header declares");
  WriteAll(fd_, data, bytes, path_);
  written_ += bytes;
}

void NpyWriter::Commit(bool sync) {
  if (written_ != expected_)
    throw Error(path_ + ": " + std::to_string(expected_ - written_) + " bytes never written");
  if (sync) {
    if (::fsync(fd_) != 0) throw Error(path_ + ": fsync failed: " + std::strerror(errno));
  } else {
    ::sync_file_range(fd_, 0, 0,
                      SYNC_FILE_RANGE_WRITE);  // start write-back now, the caller syncs later
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": rename failed: " + std::strerror(errno));
  }
}

void WriteNpy(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
              const void* data) {
  NpyWriter writer(path, dtype, shape);
  writer.Write(data, static_cast<size_t>(Count(shape)) * DTypeSize(dtype));
  writer.Commit(true);
}

void WriteNpyUnsynced(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
                      const void* data) {
  NpyWriter writer(path, dtype, shape);
  writer.Write(data, static_cast<size_t>(Count(shape)) * DTypeSize(dtype));
  writer.Commit(false);
}

void SyncFileSystem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open for sync: " + std::strerror(errno));
  const int rc = ::syncfs(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(path + ": sync failed: " + std::strerror(err));
}

namespace {

// An open .npy file with its parsed header.
struct NpyFile {
  int fd = -1;
  size_t file_size = 0;
  size_t data_offset = 0;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  ~NpyFile() {
    if (fd >= 0) ::close(fd);
  }
};

void ReadExact(const NpyFile& f, const std::string& path, void* out, size_t n, size_t offset) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(f.fd, static_cast<uint8_t*>(out) + done, n - done,
                              static_cast<off_t>(offset + done));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      throw Error(path + ": truncated file (expected " + std::to_string(offset + n) +
                  " bytes, has " + std::to_string(f.file_size) + ")");
    }
    done += static_cast<size_t>(r);
  }
}

void OpenNpy(const std::string& path, NpyFile& f) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  ::fstat(f.fd, &st);
  f.file_size = static_cast<size_t>(st.st_size);
  uint8_t lead[12] = {};
  ReadExact(f, path, lead, 10, 0);
  if (std::memcmp(lead, kMagic, 6) != 0) throw Error(path + ": not a .npy file (bad magic)");
  const int major = lead[6];
  size_t header_len = 0, offset = 10;
  if (major == 1) {
    header_len = lead[8] | (size_t{lead[9]} << 8);
  } else if (major == 2 || major == 3) {
    ReadExact(f, path, lead + 10, 2, 10);
    header_len =
        lead[8] | (size_t{lead[9]} << 8) | (size_t{lead[10]} << 16) | (size_t{lead[11]} << 24);
    offset = 12;
  } else {
    throw Error(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > 65536) throw Error(path + ": .npy header too long");
  std::string header(header_len, '\0');
  ReadExact(f, path, header.data(), header_len, offset);
  f.data_offset = offset + header_len;

  // the whole header, as NumPy writes it (keys sorted, Python literals, space padding, newline):
  // anything else is a damaged file, not a different array
  static const std::regex header_re(
      R"(\{\s*'descr':\s*'([^']*)',\s*'fortran_order':\s*(True|False),\s*)"
      R"('shape':\s*\(\s*((?:(?:[1-9][0-9]*|0)\s*,\s*)*(?:[1-9][0-9]*|0)?)\s*\),?\s*\} *\n)");
  static const std::regex int_re(R"(\d+)");
  std::smatch m;
  if (!std::regex_match(header, m, header_re))
    throw Error(path +
                ": malformed .npy header (expected {'descr': ..., 'fortran_order': ..., "
                "'shape': (...), } padded with spaces to a newline)");
  f.dtype = DTypeFromDescr(m[1], path);
  if (m[2] == "True")
    throw Error(path + ": Fortran-ordered arrays are not supported (save with C order)");
  const std::string dims = m[3];
  // every dimension and the byte count must fit (a file cannot hold more than its size anyway)
  uint64_t nbytes = DTypeSize(f.dtype);
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), int_re);
       it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    int64_t d = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec != std::errc() || __builtin_mul_overflow(nbytes, static_cast<uint64_t>(d), &nbytes))
      throw Error(path + ": header shape '(" + dims + ")' is too large");
    f.shape.push_back(d);
  }
  if (f.file_size < f.data_offset || f.file_size - f.data_offset != nbytes) {
    throw Error(path + ": data size mismatch: header says " + ShapeTuple(f.shape) + " " +
                NpyDescr(f.dtype) + " (" + std::to_string(nbytes) + " bytes) but the file holds " +
                std::to_string(f.file_size > f.data_offset ? f.file_size - f.data_offset : 0) +
                " bytes of data");
  }
}

}  // namespace

NpyArray ReadNpy(const std::string& path) {
  NpyFile f;
  OpenNpy(path, f);
  NpyArray array{f.dtype, f.shape, {}};
  array.data.resize(f.file_size - f.data_offset);
  ReadExact(f, path, array.data.data(), array.data.size(), f.data_offset);
  return array;
}

NpyReader::NpyReader(const std::string& path, DType dtype, const std::vector<int64_t>& shape)
    : path_(path) {
  NpyFile f;
  OpenNpy(path, f);
  if (f.dtype != dtype || f.shape != shape) {
    throw Error(path + ": expected " + ShapeTuple(shape) + " " + DTypeName(dtype) + ", found " +
                ShapeTuple(f.shape) + " " + DTypeName(f.dtype));
  }
  fd_ = std::exchange(f.fd, -1);
  begin_ = offset_ = f.data_offset;
  end_ = f.file_size;
}

void NpyReader::ReadAt(size_t data_offset, void* out, size_t bytes) const {
  const size_t at = begin_ + data_offset;
  if (at + bytes > end_) throw Error(path_ + ": read past the end of the data");
  size_t done = 0;
  while (done < bytes) {
    const ssize_t r = ::pread(fd_, static_cast<uint8_t*>(out) + done, bytes - done,
                              static_cast<off_t>(at + done));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      throw Error(path_ + ": read failed");
    }
    done += static_cast<size_t>(r);
  }
}

const uint8_t* NpyReader::MapData() {
  if (map_ == nullptr) {
    void* p = ::mmap(nullptr, end_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) throw Error(path_ + ": cannot map: " + std::strerror(errno));
    map_ = static_cast<uint8_t*>(p);
  }
  return map_ + begin_;
}

NpyReader::~NpyReader() {
  if (map_ != nullptr) ::munmap(map_, end_);
  if (fd_ >= 0) ::close(fd_);
}

void NpyReader::Read(void* out, size_t bytes) {
  ReadAt(offset_ - begin_, out, bytes);
  offset_ += bytes;
}

void ReadNpyInto(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
                 void* out) {
  NpyReader reader(path, dtype, shape);
  reader.Read(out, static_cast<size_t>(Count(shape)) * DTypeSize(dtype));
}

}  // namespace rlforge::io
