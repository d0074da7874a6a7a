// NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): what numpy.load reads without
// pickle, and what numpy.save writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rlforge/core/spaces.h"

namespace rlforge::io {

struct NpyArray {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian elements   (product(shape) x itemsize)
};

// The .npy type string of a dtype ("<f4", "|u1", "|b1", ...).
std::string NpyDescr(DType dtype);

// Streams an array to `path`: Open, Write the elements in C order, Commit. The data goes to a
// temp file that Commit renames into place (after an fsync unless sync is false); a writer
// destroyed without Commit removes its temp file and leaves `path` untouched.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, DType dtype, const std::vector<int64_t>& shape);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;
  void Write(const void* data, size_t bytes);
  // Writes at a byte offset into the data (each byte exactly once over all calls).
  void WriteAt(size_t data_offset, const void* data, size_t bytes);
  void Commit(bool sync);

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  size_t header_ = 0, expected_ = 0, written_ = 0;
};

// Streams an array from `path`, validated against the dtype and shape the caller expects.
class NpyReader {
 public:
  NpyReader(const std::string& path, DType dtype, const std::vector<int64_t>& shape);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;
  void Read(void* out, size_t bytes);  // the next bytes of the data, in order
  void ReadAt(size_t data_offset, void* out, size_t bytes) const;
  // The whole data region, mapped read-only (no copy; valid while the reader lives; the file
  // must not be truncated meanwhile).
  const uint8_t* MapData();

 private:
  std::string path_;
  int fd_ = -1;
  size_t begin_ = 0, offset_ = 0, end_ = 0;
  uint8_t* map_ = nullptr;  // the mapped file, header included   (end_ bytes)
};

// Writes an array durably: temp file in the same folder, fsync, rename.
void WriteNpy(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
              const void* data);

// Writes an array without fsync (the caller syncs, e.g. a whole folder before renaming it).
void WriteNpyUnsynced(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
                      const void* data);
// Makes everything written to the file system holding `path` durable (syncfs).
void SyncFileSystem(const std::string& path);

// Reads and validates an array; errors name the file and what is wrong with it.
NpyArray ReadNpy(const std::string& path);

// Reads an array that must have this dtype and shape straight into `out` (nbytes of it).
void ReadNpyInto(const std::string& path, DType dtype, const std::vector<int64_t>& shape,
                 void* out);

}  // namespace rlforge::io
