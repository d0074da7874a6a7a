#include "rlforge/core/huge_array.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace rlforge {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

void HugeArrayFree::operator()(uint8_t* p) const {
  if (mapped > 0) {
    ::munmap(p, mapped);
  } else {
    std::free(p);
  }
}

HugeArray::HugeArray(size_t size, bool zero) : size_(size) {
  if (size == 0) return;
  if (size < kHugePage) {
    void* p = std::aligned_alloc(64, (size + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    if (zero) std::memset(p, 0, size);
    data_.reset(static_cast<uint8_t*>(p));
    return;
  }
  // map a huge page more than needed, then unmap the slack on both sides of the aligned part
  const size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* raw = ::mmap(nullptr, rounded + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t end = start + rounded + kHugePage;
  if (end > aligned + rounded)
    ::munmap(reinterpret_cast<void*>(aligned + rounded), end - (aligned + rounded));
  ::madvise(reinterpret_cast<void*>(aligned), rounded, MADV_HUGEPAGE);
  data_ = std::unique_ptr<uint8_t[], HugeArrayFree>(reinterpret_cast<uint8_t*>(aligned),
                                                    HugeArrayFree{rounded});
}

}  // namespace rlforge
