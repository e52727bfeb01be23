// Arrays of tens of megabytes that are filled once and streamed on every
// input (the JIT's transposed key tables: 56 MB at N = 65536). They are
// aligned to 2 MiB and advised to transparent huge pages where the kernel
// offers them (Linux, MADV_HUGEPAGE), so filling one takes a page fault per
// 2 MiB instead of per 4 KiB and reading it needs 512x fewer TLB entries.
// Elsewhere, or when advice fails, they are ordinary aligned memory.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace handwire {

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
template <class T> using HugeArray = std::unique_ptr<T[], FreeDeleter>;

// n floats, uninitialized (no page is touched). Throws std::bad_alloc.
HugeArray<float> allocateHugeFloats(int64_t n);

} // namespace handwire
