// A zero-initialized byte array for large storage: 2 MiB aligned and advised to use transparent
// huge pages, so random row access (replay sampling) does not miss the TLB on every row. Arrays
// of 2 MiB or more are anonymous mappings, zeroed by the kernel and committed page by page as
// they are first written: a large replay costs only the memory its steps fill.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rlforge {

// Frees a HugeArray's storage: unmaps a mapping, frees the rest.
struct HugeArrayFree {
  size_t mapped = 0;  // bytes of the mapping (0: from aligned_alloc)
  void operator()(uint8_t* p) const;
};

class HugeArray {
 public:
  HugeArray() = default;
  explicit HugeArray(size_t size, bool zero = true);
  HugeArray(HugeArray&&) noexcept = default;
  HugeArray& operator=(HugeArray&&) noexcept = default;

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[], HugeArrayFree> data_;
  size_t size_ = 0;
};

}  // namespace rlforge
