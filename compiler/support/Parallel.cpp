#include "support/Parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace handwire {
namespace {
std::atomic<unsigned> configured{0};
}

void setWorkerThreads(unsigned n) { configured = n; }

unsigned workerThreads() {
  const unsigned n = configured;
  return n > 0 ? n : std::max(1u, std::thread::hardware_concurrency());
}

} // namespace handwire
