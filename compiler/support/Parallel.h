// How many threads the parallel loops (code coherence measurement, eval) use.
// A process-wide knob, like OMP_NUM_THREADS: the CLI's -j sets it, tests vary
// it. No result may depend on it (tests check that weights and eval reports
// are byte-identical across thread counts).
#pragma once

#include <functional>

namespace handwire {

// 0 (the default) means every hardware thread.
void setWorkerThreads(unsigned n);
// The configured count, or std::thread::hardware_concurrency() (at least 1).
unsigned workerThreads();

// Runs work(0) .. work(threads - 1) at once: work(0) on the calling thread,
// the others on threads of their own; returns when all have.
void runOnThreads(unsigned threads, const std::function<void(unsigned)> &work);

} // namespace handwire
