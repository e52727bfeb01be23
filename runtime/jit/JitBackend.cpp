#include "jit/JitBackend.h"

#include "support/Diagnostics.h"

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <vector>

namespace handwire {

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Fills a plan's tables, and plans its pending Walsh heads, on another thread
// from construction on (only their addresses are compiled in). finish() shares
// what is left and waits; if it is never called (an exception), the destructor
// stops the filling thread.
class TableFiller {
public:
  explicit TableFiller(ForwardPlan &plan)
      : plan_(plan), thread_([this] {
          const auto start = Clock::now();
          plan_.fillTables(nextChunk_);
          fillMs_ = msSince(start);
        }) {}
  ~TableFiller() {
    if (!thread_.joinable())
      return;
    nextChunk_ = std::numeric_limits<int64_t>::max() / 2; // stop claiming
    thread_.join();
  }
  // Returns how long the caller waited; fillMs() is then the thread's time.
  double finish() {
    const auto t0 = Clock::now();
    plan_.fillTables(nextChunk_);
    thread_.join();
    return msSince(t0);
  }
  double fillMs() const { return fillMs_; }

private:
  ForwardPlan &plan_;
  std::atomic<int64_t> nextChunk_{0};
  double fillMs_ = 0;
  std::thread thread_; // last: starts once the members above exist
};
} // namespace

JitBackend::JitBackend(const Network &net, std::optional<StorageFormat> storage)
    : net_(net) {
  const auto t0 = Clock::now();
  plan_ = planForward(net, storage, WalshTiming::WithTables);
  planMs_ = msSince(t0);
  compile(nullptr);
}

JitBackend::JitBackend(const Network &net, ForwardPlan plan,
                       std::unique_ptr<LlvmModule> module, double planMs,
                       const CompileTimes &times)
    : net_(net), plan_(std::move(plan)), planMs_(planMs), times_(times) {
  HW_ASSERT(module, "JitBackend needs the plan's emitted module");
  compile(std::move(module));
}

void JitBackend::compile(std::unique_ptr<LlvmModule> module) {
  TableFiller filler(plan_);
  auto t0 = Clock::now();
  if (!module) {
    module = emitModule(plan_, net_.name);
    times_.emitMs += msSince(t0);
    t0 = Clock::now();
  }
  if (!isOptimized(*module)) {
    optimizeModule(*module);
    times_.optimizeMs += msSince(t0);
    t0 = Clock::now();
  }
  compiled_ = linkModule(std::move(module));
  times_.codegenMs += msSince(t0);
  tablesWaitMs_ += filler.finish();
  tablesFillMs_ += filler.fillMs();
  walshPlannedBeside_ += plan_.pendingWalshHeads();
  if (plan_.walshRefused()) {
    // A Walsh head planned beside the compile was refused (its rounding
    // bound, say): its code is wrong for the plan. Plan again with the head
    // decided first, and compile that (the times add up).
    compiled_.reset();
    const auto t1 = Clock::now();
    plan_ = planForward(net_, plan_.storage, WalshTiming::Now);
    planMs_ += msSince(t1);
    compile(nullptr);
  }
}

JitBackend::~JitBackend() = default;

double JitBackend::compileMs() const {
  return planMs_ + times_.emitMs + times_.optimizeMs + times_.codegenMs +
         tablesWaitMs_;
}

std::string JitBackend::name() const {
  return plan_.storage ? std::string("jit-") + storageFormatName(*plan_.storage)
                       : "jit";
}

void JitBackend::logits(const int32_t *tokens, int64_t length,
                        const float *features, double *out) const {
  HW_ASSERT(length >= 1 && length <= net_.maxSequenceLength,
            "input length out of the network's range");
  for (int64_t i = 0; i < length; ++i)
    HW_ASSERT(tokens[i] >= 0 && tokens[i] < net_.tokenCount,
              "token out of range");
  // One scratch buffer per thread, grown as needed: memory stays flat.
  thread_local HugeVector<float> scratch;
  thread_local std::vector<float> result;
  const size_t need = static_cast<size_t>(plan_.scratchFloats(length));
  if (scratch.size() < need)
    scratch.resize(need);
  result.resize(static_cast<size_t>(plan_.classes));
  // The emitted code reads features only if the model has them; a null
  // pointer there means all zeros (Backend).
  thread_local std::vector<float> zeros;
  if (net_.featureDim() > 0 && !features) {
    zeros.assign(static_cast<size_t>(length * net_.featureDim()), 0.0f);
    features = zeros.data();
  }
  compiled_->function()(tokens, length, features, scratch.data(),
                        result.data());
  for (int64_t c = 0; c < plan_.classes; ++c)
    out[c] = result[c];
}

} // namespace handwire
