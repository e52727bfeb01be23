#include "jit/JitBackend.h"

#include "support/Diagnostics.h"

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <vector>

namespace handwire {

namespace {
double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}
} // namespace

JitBackend::JitBackend(const Network &net, std::optional<StorageFormat> storage)
    : net_(net) {
  auto t0 = std::chrono::steady_clock::now();
  plan_ = planForward(net, storage);
  planMs_ = msSince(t0);
  // The plan's tables are filled on another core while LLVM compiles (only
  // their addresses are compiled in); what is left then is shared.
  std::atomic<int64_t> nextChunk{0};
  std::thread filler([this, &nextChunk] {
    const auto start = std::chrono::steady_clock::now();
    plan_.fillTables(nextChunk);
    tablesFillMs_ = msSince(start);
  });
  try {
    compiled_ = compileForward(plan_, net.name);
  } catch (...) {
    nextChunk = std::numeric_limits<int64_t>::max() / 2; // stop claiming
    filler.join();
    throw;
  }
  t0 = std::chrono::steady_clock::now();
  plan_.fillTables(nextChunk);
  filler.join();
  tablesWaitMs_ = msSince(t0);
}

JitBackend::~JitBackend() = default;

double JitBackend::compileMs() const {
  const CompileTimes &t = compiled_->times();
  return planMs_ + t.emitMs + t.optimizeMs + t.codegenMs;
}

std::string JitBackend::name() const {
  return plan_.storage ? std::string("jit-") + storageFormatName(*plan_.storage)
                       : "jit";
}

void JitBackend::logits(const int32_t *tokens, int64_t length,
                        double *out) const {
  HW_ASSERT(length >= 1 && length <= net_.maxSequenceLength,
            "input length out of the network's range");
  for (int64_t i = 0; i < length; ++i)
    HW_ASSERT(tokens[i] >= 0 && tokens[i] < net_.tokenCount,
              "token out of range");
  // One scratch buffer per thread, grown as needed: memory stays flat.
  thread_local std::vector<float> scratch, result;
  const size_t need = static_cast<size_t>(plan_.scratchFloats(length));
  if (scratch.size() < need)
    scratch.resize(need);
  result.resize(static_cast<size_t>(plan_.classes));
  compiled_->function()(tokens, length, scratch.data(), result.data());
  for (int64_t c = 0; c < plan_.classes; ++c)
    out[c] = result[c];
}

} // namespace handwire
