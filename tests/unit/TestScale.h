// Input counts for the heavy tests. Under the sanitizers (HANDWIRE_SANITIZE
// defines HANDWIRE_SANITIZED) instrumented C++ runs several times slower
// while JIT'd code does not, so reference-evaluator loops run a tenth of the
// inputs. Every test still runs, at the same N, checking the same things.
#pragma once

#include <cstdint>

namespace handwire::testing {

#ifdef HANDWIRE_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

constexpr int64_t samples(int64_t full) {
  return kSanitized ? (full >= 10 ? full / 10 : 1) : full;
}

// Loops over many random shapes or cases compile a model each, and ASan's
// allocator makes LLVM several times slower: under the sanitizers they run
// case i only if i % 3 == 0 (each factor's values still occur; the Release
// pass runs them all).
constexpr bool runsCase(int64_t i) { return !kSanitized || i % 3 == 0; }

} // namespace handwire::testing
