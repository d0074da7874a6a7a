#include "rlforge/io/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <numeric>
#include <regex>

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

void WriteNpy(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
              const void* data) {
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
  prefix += header;

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write: " + std::strerror(errno));
  try {
    WriteAll(fd, prefix.data(), prefix.size(), path);
    WriteAll(fd, data, static_cast<size_t>(Count(shape)) * DTypeSize(dtype), path);
    if (::fsync(fd) != 0) throw Error(path + ": fsync failed: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error(path + ": rename failed: " + std::strerror(errno));
  }
}

NpyArray ReadNpy(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  const auto file_size = static_cast<size_t>(st.st_size);
  auto read_exact = [&](void* out, size_t n, size_t offset) {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd, static_cast<uint8_t*>(out) + done, n - done,
                                static_cast<off_t>(offset + done));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        ::close(fd);
        throw Error(path + ": truncated file (expected " + std::to_string(offset + n) +
                    " bytes, has " + std::to_string(file_size) + ")");
      }
      done += static_cast<size_t>(r);
    }
  };
  uint8_t lead[12] = {};
  read_exact(lead, 10, 0);
  if (std::memcmp(lead, kMagic, 6) != 0) {
    ::close(fd);
    throw Error(path + ": not a .npy file (bad magic)");
  }
  const int major = lead[6];
  size_t header_len = 0, offset = 10;
  if (major == 1) {
    header_len = lead[8] | (size_t{lead[9]} << 8);
  } else if (major == 2 || major == 3) {
    read_exact(lead + 10, 2, 10);
    header_len =
        lead[8] | (size_t{lead[9]} << 8) | (size_t{lead[10]} << 16) | (size_t{lead[11]} << 24);
    offset = 12;
  } else {
    ::close(fd);
    throw Error(path + ": unsupported .npy version " + std::to_string(major));
  }
  std::string header(header_len, '\0');
  read_exact(header.data(), header_len, offset);
  offset += header_len;

  static const std::regex descr_re(R"('descr':\s*'([^']*)')");
  static const std::regex fortran_re(R"('fortran_order':\s*(True|False))");
  static const std::regex shape_re(R"('shape':\s*\(([^)]*)\))");
  std::smatch m;
  NpyArray array;
  try {
    if (!std::regex_search(header, m, descr_re)) throw Error(path + ": header has no 'descr'");
    array.dtype = DTypeFromDescr(m[1], path);
    if (!std::regex_search(header, m, fortran_re))
      throw Error(path + ": header has no 'fortran_order'");
    if (m[1] == "True")
      throw Error(path + ": Fortran-ordered arrays are not supported (save with C order)");
    if (!std::regex_search(header, m, shape_re)) throw Error(path + ": header has no 'shape'");
    const std::string dims = m[1];
    static const std::regex int_re(R"(\d+)");
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), int_re);
         it != std::sregex_iterator(); ++it) {
      array.shape.push_back(std::stoll(it->str()));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  const size_t nbytes = static_cast<size_t>(Count(array.shape)) * DTypeSize(array.dtype);
  if (file_size != offset + nbytes) {
    ::close(fd);
    throw Error(path + ": data size mismatch: header says " + ShapeTuple(array.shape) + " " +
                NpyDescr(array.dtype) + " (" + std::to_string(nbytes) +
                " bytes) but the file holds " +
                std::to_string(file_size > offset ? file_size - offset : 0) + " bytes of data");
  }
  array.data.resize(nbytes);
  read_exact(array.data.data(), nbytes, offset);
  ::close(fd);
  return array;
}

}  // namespace rlforge::io
