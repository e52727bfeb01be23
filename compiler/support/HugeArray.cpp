#include "support/HugeArray.h"

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace handwire {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

void *allocateAdvised(size_t bytes, size_t hugeFrom) {
  bytes = bytes > 0 ? bytes : 1;
  // Below that, plain cache-line alignment (aligned_alloc wants a multiple
  // of the alignment).
  const size_t align = bytes >= hugeFrom ? kHugePage : 64;
  const size_t rounded = (bytes + align - 1) / align * align;
  void *p = std::aligned_alloc(align, rounded);
  if (!p)
    throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  // The whole block: a huge page needs all of its 2 MiB advised.
  if (align == kHugePage)
    (void)madvise(p, rounded, MADV_HUGEPAGE); // advice only: may be refused
#endif
  return p;
}

} // namespace

// Below a few huge pages the advice saves little for the key tables.
HugeArray<float> allocateHugeFloats(int64_t n) {
  return HugeArray<float>(static_cast<float *>(allocateAdvised(
      static_cast<size_t>(n > 0 ? n : 0) * sizeof(float), 4 * kHugePage)));
}

void adviseHugePages([[maybe_unused]] void *p, [[maybe_unused]] size_t bytes) {
#if defined(MADV_HUGEPAGE)
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (start + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = (start + bytes) / kHugePage * kHugePage;
  if (last > first)
    (void)madvise(reinterpret_cast<void *>(first), last - first, MADV_HUGEPAGE);
#endif
}

void *allocateHugeBytes(size_t bytes) {
  return allocateAdvised(bytes, kHugePage / 8);
}

} // namespace handwire
