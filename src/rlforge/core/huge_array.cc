#include "rlforge/core/huge_array.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace rlforge {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

void HugeArray::Free::operator()(uint8_t* p) const { std::free(p); }

HugeArray::HugeArray(size_t size, bool zero) : size_(size) {
  if (size == 0) return;
  const bool huge = size >= kHugePage;
  const size_t alignment = huge ? kHugePage : 64;
  const size_t rounded = (size + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  if (huge) ::madvise(p, rounded, MADV_HUGEPAGE);
  if (zero) std::memset(p, 0, size);
  data_.reset(static_cast<uint8_t*>(p));
}

}  // namespace rlforge
