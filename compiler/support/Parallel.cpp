#include "support/Parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace handwire {
namespace {
std::atomic<unsigned> configured{0};
}

void setWorkerThreads(unsigned n) { configured = n; }

unsigned workerThreads() {
  const unsigned n = configured;
  return n > 0 ? n : std::max(1u, std::thread::hardware_concurrency());
}

void runOnThreads(unsigned threads, const std::function<void(unsigned)> &work) {
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (auto &th : pool)
    th.join();
}

} // namespace handwire
