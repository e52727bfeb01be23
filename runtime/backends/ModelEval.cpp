#include "backends/ModelEval.h"

#include "support/Diagnostics.h"

namespace handwire {

int64_t ModelEvalReport::failures() const {
  int64_t n = compared && !agree ? 1 : 0;
  for (const BackendSummary &b : backends)
    n += b.result.mismatches;
  return n;
}

ModelEvalReport evaluateModel(const TaskSpec &task, const Network &net,
                              const ForwardBackends &backends,
                              const EvalOptions &options) {
  HW_ASSERT(backends.ok(), "evaluateModel needs backends that compiled");
  ModelEvalReport report;
  report.result = evaluate(task, net, backends.list(), options);
  report.jit = backends.jitTimes;
  const EvalResult &r = report.result;
  for (const BackendResult &b : r.backends) {
    BackendSummary s{b};
    s.accuracy =
        r.samples ? 1.0 - double(b.mismatches) / double(r.samples) : 0.0;
    s.inputsPerSecond =
        b.seconds > 0 ? static_cast<double>(r.samples) / b.seconds : 0;
    report.backends.push_back(s);
  }
  // Within the construction's fp32 tolerance, or in 16 bits a few ulps of
  // the format more (lowPrecisionLogitTolerance says why).
  report.logitTolerance =
      backends.format
          ? lowPrecisionLogitTolerance(net, *backends.format, r.maxAbsLogit)
          : net.certificate.logitTolerance;
  report.compared = r.backends.size() > 1;
  if (report.compared)
    report.agree =
        r.disagreements == 0 && r.maxLogitDifference <= report.logitTolerance;
  return report;
}

} // namespace handwire
