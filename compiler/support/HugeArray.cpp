#include "support/HugeArray.h"

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace handwire {

HugeArray<float> allocateHugeFloats(int64_t n) {
  constexpr size_t kHugePage = size_t(2) << 20;
  const size_t bytes = static_cast<size_t>(n > 0 ? n : 1) * sizeof(float);
  // Below a few huge pages the advice saves little: plain cache-line
  // alignment (aligned_alloc wants a multiple of the alignment).
  const size_t align = bytes >= 4 * kHugePage ? kHugePage : 64;
  void *p = std::aligned_alloc(align, (bytes + align - 1) / align * align);
  if (!p)
    throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  if (align == kHugePage)
    (void)madvise(p, bytes, MADV_HUGEPAGE); // advice only: may be refused
#endif
  return HugeArray<float>(static_cast<float *>(p));
}

} // namespace handwire
