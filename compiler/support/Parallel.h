// How many threads the parallel loops (code coherence measurement, eval) use.
// A process-wide knob, like OMP_NUM_THREADS: the CLI's -j sets it, tests vary
// it. No result may depend on it (tests check that weights and eval reports
// are byte-identical across thread counts).
#pragma once

namespace handwire {

// 0 (the default) means every hardware thread.
void setWorkerThreads(unsigned n);
// The configured count, or std::thread::hardware_concurrency() (at least 1).
unsigned workerThreads();

} // namespace handwire
