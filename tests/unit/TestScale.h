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

} // namespace handwire::testing
