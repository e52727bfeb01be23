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
#include <vector>

namespace handwire {

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
template <class T> using HugeArray = std::unique_ptr<T[], FreeDeleter>;

// n floats, uninitialized (no page is touched). Throws std::bad_alloc.
HugeArray<float> allocateHugeFloats(int64_t n);

// `bytes` of memory, uninitialized; from 256 KiB on, rounded up to whole
// 2 MiB pages, aligned and advised to huge pages (a page fault per 2 MiB
// instead of per 4 KiB: on a virtual machine where a fault costs ~10-15 us,
// the JIT's first 100 MB scratch took 0.25 s of faults, and a 1 MiB table
// 256 faults, ~3 ms, where one huge page takes ~0.1 ms to clear). The
// advice covers the whole rounded block: a huge page needs all of its 2 MiB
// advised. Free with std::free. Throws std::bad_alloc.
void *allocateHugeBytes(size_t bytes);

// Advises the 2 MiB-aligned part of [p, p + bytes) to huge pages, before it
// is first written (memory from malloc, e.g. an Eigen matrix's). Advice only.
void adviseHugePages(void *p, size_t bytes);

// std::vector's allocator for the large buffers that are filled once and
// read often (the JIT's scratch, the Walsh plan's tables): allocateHugeBytes.
template <class T> struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U> HugePageAllocator(const HugePageAllocator<U> &) {}
  T *allocate(size_t n) {
    return static_cast<T *>(allocateHugeBytes(n * sizeof(T)));
  }
  void deallocate(T *p, size_t) { std::free(p); }
  template <class U> bool operator==(const HugePageAllocator<U> &) const {
    return true;
  }
};
template <class T> using HugeVector = std::vector<T, HugePageAllocator<T>>;

} // namespace handwire
