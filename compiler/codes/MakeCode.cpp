// Choosing a code: every family proposes its narrowest member that provably
// meets the request (codes-and-bounds.md §1.8), and `auto` takes the
// narrowest proposal. Algebraic members are certified exactly over their span
// while planning, so the width a plan reports is the width that is built
// (memory estimates of more than 2^24 codewords excepted: they may overstate
// it, see kMaxEstimateSpanBits).
#include "codes/KerdockCode.h"
#include "codes/LinearCode.h"
#include "codes/SphericalBounds.h"

#include "support/Bits.h"
#include "support/Diagnostics.h"
#include "support/Random.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

namespace handwire {

const char *sidednessName(Sidedness s) {
  return s == Sidedness::OneSided ? "one-sided" : "two-sided";
}

namespace {

// Certifying random sign codes compares all pairs; beyond this many word
// operations (about a minute on two cores) we refuse instead of hanging.
constexpr double kMaxPairWork = double(int64_t(1) << 37);
constexpr int kMaxSpanBits = 27; // 2^27 codewords: the largest count we accept

int spanBits(int64_t count) {
  return static_cast<int>(std::max<int64_t>(1, ceilLog2(count)));
}

// Largest bias a codeword of `dim` coordinates may have: mu * dim, with a
// little slack for decimal targets such as 0.3 * 10.
int64_t allowedBias(double mu, int64_t dim) {
  return static_cast<int64_t>(std::floor(mu * double(dim) + 1e-9));
}

// The limits a member must stay within: certification of a failing member
// stops at its first violation.
BiasLimits limitsFor(const CodeRequest &r, int64_t dim) {
  const int64_t a = allowedBias(r.coherence, dim);
  return {a, r.sided == Sidedness::OneSided ? INT64_MIN : -a};
}

bool meets(const SpanCertificate &c, int64_t dim, const CodeRequest &r) {
  if (!c.complete)
    return false;
  const int64_t worst = r.sided == Sidedness::OneSided
                            ? c.maxBias
                            : std::max(c.maxBias, -c.minBias);
  return worst <= allowedBias(r.coherence, dim);
}

std::string fmt(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// A family's proposal: a certified linear member, or a random family's width.
struct Plan {
  CodeFamily family = CodeFamily::Auto;
  int64_t dim = -1; // -1: the family cannot meet the request
  std::optional<LinearSignCode> linear{};
  SpanCertificate span{};
  std::optional<KerdockCode> kerdock{};
  KerdockCertificate kerdockSpan{};
  std::string whyNot{};
};

// Certifies a member; on success it becomes the plan.
bool accept(Plan &p, LinearSignCode code, int K, const CodeRequest &r) {
  SpanCertificate c = certifySpan(code, K, limitsFor(r, code.dim));
  if (!meets(c, code.dim, r))
    return false;
  p.dim = code.dim;
  p.span = c;
  p.linear = std::move(code);
  return true;
}

// Estimates under `auto` (certify = false) certify spans of at most 2^24
// codewords: a span of 2^27 takes seconds (tens under the sanitizers), which
// a memory estimate must not. Beyond, dual-BCH members are taken by the Weil
// bound and extended BCH is not proposed, so such an estimate can only
// overstate the width that makeCode certifies and builds.
constexpr int kMaxEstimateSpanBits = 24;
bool estimateByBound(const CodeRequest &r, bool certify) {
  return !certify && r.family == CodeFamily::Auto &&
         spanBits(r.count) > kMaxEstimateSpanBits;
}

Plan planDualBch(const CodeRequest &r, bool goldOnly, bool certify = true) {
  Plan p{goldOnly ? CodeFamily::Gold : CodeFamily::DualBch};
  const int K = spanBits(r.count);
  for (int m = 2; m <= 16; ++m) {
    const int t = std::max(1, (K + m - 1) / m);
    if (goldOnly && t > 2)
      continue;
    if (2 * t - 1 >= (1 << m))
      continue; // the odd exponents would wrap around the field
    if (estimateByBound(r, certify)) {
      // Weil: |sum_x (-1)^Tr(f(x))| <= (deg f - 1) 2^(m/2), deg f = 2t - 1.
      if ((2 * t - 2) * std::sqrt(std::ldexp(1.0, m)) <=
          static_cast<double>(allowedBias(r.coherence, int64_t(1) << m))) {
        p.dim = int64_t(1) << m;
        return p;
      }
      continue;
    }
    if (accept(p, dualBchCode(m, t), K, r))
      return p;
  }
  p.whyNot =
      std::string(goldOnly ? "no Gold code (t <= 2)" : "no dual-BCH code") +
      " up to length 2^16 has " + std::to_string(r.count) + " codewords with " +
      sidednessName(r.sided) + " coherence <= " + fmt(r.coherence);
  return p;
}

Plan planExtendedBch(const CodeRequest &r, bool certify = true) {
  Plan p{CodeFamily::ExtendedBch};
  const int K = spanBits(r.count);
  if (estimateByBound(r, certify)) {
    p.whyNot = "extended BCH is not estimated beyond 2^" +
               std::to_string(kMaxEstimateSpanBits) + " codewords";
    return p;
  }
  for (int m = 3; m <= 10; ++m) {
    // The largest odd designed distance that keeps k >= K: k falls as delta
    // grows, so bisect over odd deltas in [1, 2^m - 1].
    int lo = 0, hi = ((1 << m) - 2) / 2; // delta = 2 i + 1
    if (bchDimension(m, 3) < K)
      continue;
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (bchDimension(m, 2 * mid + 1) >= K)
        lo = mid;
      else
        hi = mid - 1;
    }
    for (int i = lo; i >= std::max(1, lo - 2); --i) {
      LinearSignCode code = extendedBchCode(m, 2 * i + 1);
      if (int(code.generators.size()) >= K && accept(p, std::move(code), K, r))
        return p;
    }
  }
  p.whyNot = "no extended BCH code up to length 1024 has " +
             std::to_string(r.count) + " codewords with " +
             sidednessName(r.sided) + " coherence <= " + fmt(r.coherence);
  return p;
}

Plan planBinary(const CodeRequest &r) {
  Plan p{CodeFamily::Binary};
  const int K = spanBits(r.count);
  LinearSignCode code = binaryPositionCode(K);
  SpanCertificate c = certifySpan(code, K, limitsFor(r, code.dim));
  if (meets(c, code.dim, r)) {
    p.dim = code.dim;
    p.span = c;
    p.linear = std::move(code);
  } else {
    // Two codewords one bit apart, and a codeword and its complement.
    const double worst = r.sided == Sidedness::OneSided
                             ? double(K - 2) / double(K)
                             : (K >= 2 ? 1.0 : 0.0);
    p.whyNot = "the binary position code of " + std::to_string(K) +
               " bits has " + sidednessName(r.sided) + " coherence " +
               fmt(worst) + " > " + fmt(r.coherence) +
               "; raise coherence to at least " + fmt(worst) +
               " (a smaller gap, so a larger softmax scale) or use another "
               "family";
  }
  return p;
}

// K(m) has 2^(2m-1) vectors at coherence 2^(-m/2) (one-sided too: the
// spectra of the bent differences take both signs), and its first 2^m are
// orthogonal. The smallest even m that covers the count at the requested
// coherence, certified by its own Walsh spectra. A member of width
// >= widthToBeat cannot win `auto`: its width is reported uncertified (it is
// 2^m by definition), which saves up to 2^17 transforms.
// Planning only (certify = false, for plannedCodeWidth's memory estimate):
// K(m)'s width 2^m and coherence 2^(-m/2) are a theorem, and certifying
// K(10) costs seconds (tens under the sanitizers) that an estimate must not;
// makeCode certifies the code it builds.
Plan planKerdock(const CodeRequest &r, int64_t widthToBeat = INT64_MAX,
                 bool certify = true) {
  Plan p{CodeFamily::Kerdock};
  for (int m = kMinKerdockM; m <= kMaxKerdockM; m += 2) {
    const int64_t dim = int64_t(1) << m;
    const bool orthogonal = r.count <= dim;
    if (r.count > kerdockCapacity(m) ||
        (!orthogonal && std::ldexp(1.0, -m / 2) > r.coherence + 1e-12))
      continue;
    if (dim >= widthToBeat || !certify) {
      p.dim = dim;
      return p;
    }
    KerdockCode code = kerdockCode(m, r.count);
    KerdockCertificate c = certifyKerdock(code, r.count, limitsFor(r, dim));
    const int64_t worst = r.sided == Sidedness::OneSided
                              ? c.maxBias
                              : std::max(c.maxBias, -c.minBias);
    if (c.complete && worst <= allowedBias(r.coherence, dim)) {
      p.dim = dim;
      p.kerdockSpan = std::move(c);
      p.kerdock = std::move(code);
      return p;
    }
  }
  p.whyNot = "no Kerdock code K(m), m = 4, 6, 8, 10, has " +
             std::to_string(r.count) + " vectors with " +
             sidednessName(r.sided) + " coherence <= " + fmt(r.coherence) +
             " (K(m) has 2^(2m-1) vectors at coherence 2^(-m/2); m <= 10 "
             "keeps its certificate within seconds)";
  return p;
}

// Union bounds with failure probability 1% (codes-and-bounds.md §1.2): over
// count-1 nonzero codewords for a random linear code, over pairs otherwise.
int64_t randomLinearDimension(const CodeRequest &r) {
  const double events = std::max<double>(1, double(r.count - 1)) *
                        (r.sided == Sidedness::TwoSided ? 2.0 : 1.0);
  const double k =
      std::ceil(2.0 / (r.coherence * r.coherence) * std::log(events / 0.01));
  // Saturate as rademacherDimension does: inf or huge is not convertible.
  if (!(k < static_cast<double>(kMaxRademacherDimension)))
    return kMaxRademacherDimension;
  return std::max<int64_t>(1, static_cast<int64_t>(k));
}

Plan planRandom(const CodeRequest &r, CodeFamily family) {
  Plan p{family};
  if (family == CodeFamily::RandomLinear) {
    p.dim = randomLinearDimension(r);
    return p;
  }
  p.dim = rademacherDimension(std::max<int64_t>(r.count, 2), r.coherence);
  return p;
}

// Certifying random sign codes compares all pairs: refuse (at build time,
// after the memory check) what would take hours.
void checkPairWork(const CodeRequest &r, int64_t dim) {
  const double pairs = double(r.count) * double(r.count - 1) / 2;
  if (pairs * double((dim + 63) / 64) > kMaxPairWork)
    throw UserError("certifying " + std::to_string(r.count) +
                        " Rademacher vectors of " + std::to_string(dim) +
                        " dimensions compares all " + fmt(pairs) +
                        " pairs, which would take hours; use code = auto "
                        "(or an algebraic family), certified in O(N log d)",
                    r.loc);
}

Plan planFamily(CodeFamily f, const CodeRequest &r, bool certify) {
  switch (f) {
  case CodeFamily::DualBch:
    return planDualBch(r, false, certify);
  case CodeFamily::Gold:
    return planDualBch(r, true, certify);
  case CodeFamily::ExtendedBch:
    return planExtendedBch(r, certify);
  case CodeFamily::Binary:
    return planBinary(r);
  case CodeFamily::Kerdock:
    return planKerdock(r, INT64_MAX, certify);
  case CodeFamily::RandomLinear:
  case CodeFamily::Rademacher:
    return planRandom(r, f);
  case CodeFamily::Auto:
    break;
  }
  internalError(__FILE__, __LINE__, "auto is not a family");
}

void checkRequest(const CodeRequest &r) {
  HW_ASSERT(r.count >= 1, "code request without codewords");
  if (!(r.coherence > 0 && r.coherence < 1))
    throw UserError("coherence must lie strictly between 0 and 1, got " +
                        fmt(r.coherence),
                    r.loc);
  if (r.count > (int64_t(1) << kMaxSpanBits))
    throw UserError("a position code of " + std::to_string(r.count) +
                        " codewords is beyond the supported 2^" +
                        std::to_string(kMaxSpanBits),
                    r.loc);
}

struct Choice {
  Plan plan;
  std::vector<std::pair<std::string, int64_t>> alternatives;
};

Choice choose(const CodeRequest &r, bool certify) {
  checkRequest(r);
  Choice c;
  if (r.family != CodeFamily::Auto) {
    c.plan = planFamily(r.family, r, certify);
    if (c.plan.dim < 0)
      throw UserError("code = " + std::string(codeFamilyName(r.family)) +
                          " cannot be used here: " + c.plan.whyNot,
                      r.loc);
    c.alternatives.emplace_back(codeFamilyName(r.family), c.plan.dim);
    return c;
  }
  // Narrowest first; ties go to the earlier (deterministic) family. Kerdock
  // comes last among the algebraic ones: it wins only when strictly narrower.
  static const CodeFamily order[] = {
      CodeFamily::ExtendedBch,  CodeFamily::DualBch,
      CodeFamily::Binary,       CodeFamily::Kerdock,
      CodeFamily::RandomLinear, CodeFamily::Rademacher};
  std::string why;
  for (CodeFamily f : order) {
    Plan p = f == CodeFamily::Kerdock && c.plan.dim >= 0
                 ? planKerdock(r, c.plan.dim, certify)
                 : planFamily(f, r, certify);
    c.alternatives.emplace_back(codeFamilyName(f), p.dim);
    if (p.dim < 0) {
      why += "\n  " + p.whyNot;
      continue;
    }
    if (c.plan.dim < 0 || p.dim < c.plan.dim)
      c.plan = std::move(p);
  }
  if (c.plan.dim < 0)
    throw UserError("no code family meets the request:" + why, r.loc);
  return c;
}

// Width, parameters and measured biases of an exactly certified code (linear
// or Kerdock: both certificates hold the extreme biases times the width).
template <typename CodeT, typename CertificateT>
void recordBiases(CodeCertificate &cert, const CodeT &code,
                  const CertificateT &s) {
  cert.dim = code.dim;
  cert.params = code.params;
  cert.method = s.method;
  const double d = double(code.dim);
  cert.maxInnerProduct = double(s.maxBias) / d;
  cert.coherence = double(std::max(s.maxBias, -s.minBias)) / d;
}

void takeLinearCode(Code &c, const LinearSignCode &code,
                    const SpanCertificate &s, int64_t count) {
  recordBiases(c.certificate, code, s);
  c.certificate.worstPairs = pairsAt(s.worstCodeword, count);
  c.vectors = materialize(code, count);
}

void takeKerdockCode(Code &c, const KerdockCode &code,
                     const KerdockCertificate &s, int64_t count) {
  recordBiases(c.certificate, code, s);
  c.certificate.worstPairs = kerdockPairsAt(code, s, count);
  c.vectors = materialize(code, count);
}

using Progress = std::function<void(const std::string &)>;

// One random linear code of length dim, certified over its span; fills c and
// returns true if it meets the request.
bool tryRandomLinearDraw(Code &c, const CodeRequest &req, int64_t dim,
                         uint64_t seed, const Progress &progress) {
  if (progress)
    progress("drawing a random linear code of length " + std::to_string(dim) +
             " and certifying its span");
  const int K = spanBits(req.count);
  LinearSignCode code = randomLinearCode(K, dim, seed);
  SpanCertificate s = certifySpan(code, K, limitsFor(req, dim));
  if (!meets(s, dim, req))
    return false;
  takeLinearCode(c, code, s, req.count);
  return true;
}

// req.count Rademacher vectors in dim dimensions, measured over all pairs;
// fills c and returns true if they meet the request.
bool tryRademacherDraw(Code &c, const CodeRequest &req, int64_t dim,
                       uint64_t seed, const Progress &progress) {
  if (progress)
    progress("drawing " + std::to_string(req.count) +
             " Rademacher vectors in " + std::to_string(dim) +
             " dimensions and measuring their coherence");
  SignCode vectors = drawRademacher(req.count, dim, seed);
  CoherenceMeasurement m = measureCoherence(vectors);
  const double worst =
      req.sided == Sidedness::OneSided ? m.maxInnerProduct : m.coherence;
  if (worst > req.coherence)
    return false;
  CodeCertificate &cert = c.certificate;
  cert.dim = dim;
  cert.params = "seed " + std::to_string(seed);
  cert.method = "exact: Hamming distances of all pairs";
  cert.coherence = m.coherence;
  cert.maxInnerProduct = m.maxInnerProduct;
  cert.worstPairs = std::move(m.worstPairs);
  c.vectors = std::move(vectors);
  return true;
}

// Random families: draw, certify exactly, redraw a few times, then widen,
// so that a pathological seed cannot loop forever.
void drawCertifiedRandomCode(Code &c, const Plan &plan, const CodeRequest &req,
                             const Progress &progress) {
  int64_t dim = plan.dim;
  if (plan.family == CodeFamily::Rademacher)
    checkPairWork(req, dim);
  uint64_t drawSeed = req.seed;
  for (int draw = 1;; ++draw) {
    c.certificate.draws = draw;
    c.certificate.seed = drawSeed;
    const bool met = plan.family == CodeFamily::RandomLinear
                         ? tryRandomLinearDraw(c, req, dim, drawSeed, progress)
                         : tryRademacherDraw(c, req, dim, drawSeed, progress);
    if (met)
      return;
    drawSeed = streamSeed(drawSeed, 0x5eed);
    if (draw % 3 == 0)
      dim += std::max<int64_t>(1, dim / 8);
  }
}

} // namespace

int64_t minimumCodeWidth(int64_t count) { return spanBits(count); }

int64_t plannedCodeWidth(const CodeRequest &request) {
  return choose(request, /*certify=*/false).plan.dim;
}

Code makeCode(const CodeRequest &req, const Progress &progress) {
  Choice choice = choose(req, /*certify=*/true);
  const Plan &plan = choice.plan;
  Code c;
  CodeCertificate &cert = c.certificate;
  cert.family = codeFamilyName(plan.family);
  cert.requested = codeFamilyName(req.family);
  cert.requirement = sidednessName(req.sided);
  cert.count = req.count;
  cert.targetCoherence = req.coherence;
  cert.alternatives = std::move(choice.alternatives);
  const DimensionLimit limit = codeDimensionLimit(
      req.count, req.coherence, req.sided == Sidedness::TwoSided);
  cert.lowerLimitDim = limit.dim;
  cert.lowerLimitBound = limit.bound;

  if (plan.linear) // algebraic: certified while planning
    takeLinearCode(c, *plan.linear, plan.span, req.count);
  else if (plan.kerdock) // certified while planning too
    takeKerdockCode(c, *plan.kerdock, plan.kerdockSpan, req.count);
  else
    drawCertifiedRandomCode(c, plan, req, progress);
  // A certified code narrower than a proven lower limit means a bug in one
  // of the two.
  if (cert.dim < cert.lowerLimitDim)
    internalError(__FILE__, __LINE__,
                  "certified width " + std::to_string(cert.dim) +
                      " is below the " + cert.lowerLimitBound + " limit " +
                      std::to_string(cert.lowerLimitDim));
  return c;
}

} // namespace handwire
