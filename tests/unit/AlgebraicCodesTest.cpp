// Algebraic codes: their span certificates against the published numbers
// (codes-and-bounds.md §1.5-1.7) and against brute force over all pairs of
// the materialized vectors; `code = auto` widths against Rademacher's.
#include "codes/GaloisField.h"
#include "codes/LinearCode.h"
#include "support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace handwire {
namespace {

CodeRequest request(CodeFamily family, int64_t count, double mu,
                    Sidedness sided) {
  CodeRequest r;
  r.family = family;
  r.count = count;
  r.coherence = mu;
  r.sided = sided;
  r.seed = 3;
  return r;
}

TEST(GaloisField, TraceIsLinearAndBalancedAndMinimalPolynomialsVanish) {
  for (int m : {2, 3, 5, 8, 11}) {
    GaloisField f(m);
    int ones = 0;
    for (uint32_t a = 0; a < f.size(); ++a) {
      ones += f.trace(a);
      EXPECT_EQ(f.trace(a ^ 5u % f.size()),
                f.trace(a) ^ f.trace(5u % f.size()));
    }
    EXPECT_EQ(ones, int(f.size() / 2)) << "m = " << m;
    // The minimal polynomial of alpha^3 has alpha^3 as a root.
    std::vector<uint8_t> mp = minimalPolynomial(f, 3);
    uint32_t value = 0;
    for (size_t i = 0; i < mp.size(); ++i)
      if (mp[i])
        value ^= f.alphaPow(3 * i);
    EXPECT_EQ(value, 0u) << "m = " << m;
  }
}

// §1.6: exact coherence of the full extended dual-BCH codes (all 2^(mt)
// codewords), computed there by an independent program.
TEST(AlgebraicCodes, DualBchCoherenceMatchesThePublishedTable) {
  struct Row {
    int m, t;
    int64_t maxAbsBias;
  };
  for (Row r : {Row{5, 2, 8}, Row{6, 2, 16}, Row{7, 2, 16}, Row{8, 2, 32},
                Row{9, 2, 32}, Row{5, 3, 16}, Row{6, 3, 32}, Row{7, 3, 32},
                Row{5, 4, 20}}) {
    LinearSignCode code = dualBchCode(r.m, r.t);
    SpanCertificate c = certifySpan(code, r.m * r.t);
    EXPECT_EQ(std::max(c.maxBias, -c.minBias), r.maxAbsBias)
        << "m = " << r.m << ", t = " << r.t;
  }
}

// §1.7: BCH(63, k) minimum distances 23 / 21 / 15, i.e. 24 / 22 / 16 when
// extended, for k = 16 / 18 / 24.
TEST(AlgebraicCodes, ExtendedBchMinimumDistancesMatchTheTables) {
  struct Row {
    int delta;
    int64_t k, dmin;
  };
  for (Row r : {Row{23, 16, 24}, Row{21, 18, 22}, Row{15, 24, 16}}) {
    EXPECT_EQ(bchDimension(6, r.delta), r.k);
    LinearSignCode code = extendedBchCode(6, r.delta);
    ASSERT_EQ(int64_t(code.generators.size()), r.k);
    if (r.k > 18)
      continue; // 2^24 codewords: covered by the smaller rows
    SpanCertificate c = certifySpan(code, int(r.k));
    EXPECT_EQ(c.maxBias, 64 - 2 * r.dmin) << "delta " << r.delta;
  }
}

// The span certificate is an upper bound for any count and exact for powers
// of two; brute force over all pairs of the actual rows checks both, and the
// reported worst pairs attain the maximum.
TEST(AlgebraicCodes, SpanCertificatesAgreeWithBruteForceOverAllPairs) {
  struct Case {
    CodeFamily family;
    Sidedness sided;
    double mu;
  };
  for (Case k : {Case{CodeFamily::DualBch, Sidedness::TwoSided, 0.25},
                 Case{CodeFamily::Gold, Sidedness::TwoSided, 0.25},
                 Case{CodeFamily::ExtendedBch, Sidedness::OneSided, 0.25},
                 Case{CodeFamily::ExtendedBch, Sidedness::OneSided, 0.5},
                 Case{CodeFamily::RandomLinear, Sidedness::TwoSided, 0.4},
                 Case{CodeFamily::Binary, Sidedness::OneSided, 0.9}})
    for (int64_t count : {int64_t(1000), int64_t(1024), int64_t(4096)}) {
      Code c = makeCode(request(k.family, count, k.mu, k.sided));
      const CodeCertificate &cert = c.certificate;
      CoherenceMeasurement brute = measureCoherence(c.vectors);
      const std::string what = cert.family + " (" + cert.params + "), " +
                               std::to_string(count) + " codewords";
      EXPECT_LE(brute.maxInnerProduct, cert.maxInnerProduct + 1e-12) << what;
      EXPECT_LE(brute.coherence, cert.coherence + 1e-12) << what;
      if ((count & (count - 1)) == 0) {
        EXPECT_DOUBLE_EQ(brute.maxInnerProduct, cert.maxInnerProduct) << what;
        EXPECT_DOUBLE_EQ(brute.coherence, cert.coherence) << what;
      }
      const double allowed = k.mu;
      EXPECT_LE(k.sided == Sidedness::OneSided ? brute.maxInnerProduct
                                               : brute.coherence,
                allowed)
          << what;
      ASSERT_FALSE(cert.worstPairs.empty()) << what;
      for (auto [i, j] : cert.worstPairs) {
        int64_t h = 0;
        for (int64_t w = 0; w < c.vectors.wordsPerRow(); ++w)
          h += __builtin_popcountll(c.vectors.row(i)[w] ^ c.vectors.row(j)[w]);
        EXPECT_DOUBLE_EQ(double(cert.dim - 2 * h) / double(cert.dim),
                         cert.maxInnerProduct)
            << what << " pair " << i << ", " << j;
      }
    }
}

// §1.3 / §1.5 "LB" column.
TEST(AlgebraicCodes, WelchLevenshteinLimitsMatchTheTable) {
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 10, 0.25), 32);
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 12, 0.25), 40);
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 16, 0.25), 46);
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 20, 0.25), 46);
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 14, 0.125), 128);
  EXPECT_EQ(welchLevenshteinLowerLimit(1 << 20, 0.125), 188);
  EXPECT_EQ(welchLevenshteinLowerLimit(5, 0.1), 5); // orthonormal
}

// Issue 5's bar: at coherence 1/4, the chosen code is at least 4x narrower
// than the Rademacher family from N = 2^16 on. Two-sided widths are the
// dual-BCH column of §1.5, except at 2^14: there the first 14 generators of
// the (m = 6, t = 3) code already have coherence 1/4 (checked by brute force
// below), where §1.5 took the whole 2^18-word code, of coherence 1/2.
TEST(AlgebraicCodes, AutoIsFourTimesNarrowerThanRademacherAtScale) {
  const int64_t twoSided[] = {32, 64, 64, 128, 128, 128}; // 2^10 .. 2^20
  for (int e = 10; e <= 20; e += 2) {
    const int64_t N = int64_t(1) << e;
    const int64_t rademacher = rademacherDimension(N, 0.25);
    const int64_t one = plannedCodeWidth(
        request(CodeFamily::Auto, N, 0.25, Sidedness::OneSided));
    const int64_t two = plannedCodeWidth(
        request(CodeFamily::Auto, N, 0.25, Sidedness::TwoSided));
    EXPECT_EQ(two, twoSided[(e - 10) / 2]) << "N = 2^" << e;
    EXPECT_LE(one, two) << "N = 2^" << e;
    if (e >= 16) {
      EXPECT_GE(rademacher, 4 * one) << "N = 2^" << e;
      EXPECT_GE(rademacher, 4 * two) << "N = 2^" << e;
    }
  }
  Code c14 =
      makeCode(request(CodeFamily::Auto, 1 << 14, 0.25, Sidedness::TwoSided));
  EXPECT_EQ(c14.certificate.dim, 64);
  EXPECT_LE(measureCoherence(c14.vectors).coherence, 0.25);
  // §1.7: the extended BCH [64, 16, 24] code gives 2^16 at gap 3/4.
  EXPECT_EQ(plannedCodeWidth(
                request(CodeFamily::Auto, 1 << 16, 0.25, Sidedness::OneSided)),
            64);
}

TEST(AlgebraicCodes, ImpossibleRequestsAreRefusedWithTheReason) {
  try {
    makeCode(request(CodeFamily::Binary, 1025, 0.5, Sidedness::OneSided));
    FAIL() << "binary code accepted at coherence 0.5";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find("0.818182"), std::string::npos)
        << e.what();
  }
  try {
    makeCode(
        request(CodeFamily::Rademacher, 1 << 20, 0.25, Sidedness::OneSided));
    FAIL() << "an hours-long Rademacher certification was accepted";
  } catch (const UserError &e) {
    EXPECT_NE(std::string(e.what()).find("code = auto"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(plannedCodeWidth(
                   request(CodeFamily::Auto, 100, 1.0, Sidedness::OneSided)),
               UserError);
}

TEST(AlgebraicCodes, MillionCodewordsAreBuiltAndCertifiedFast) {
  Code c = makeCode(
      request(CodeFamily::Auto, (1 << 20) + 1, 0.25, Sidedness::OneSided));
  EXPECT_EQ(c.vectors.count(), (1 << 20) + 1);
  EXPECT_LE(c.certificate.maxInnerProduct, 0.25);
  EXPECT_LE(c.certificate.dim, 128);
  // Spot check: codewords far apart in the span are distinct and their inner
  // product respects the certificate.
  for (int64_t i : {int64_t(1), int64_t(77777), int64_t(1) << 20}) {
    int64_t h = 0;
    for (int64_t w = 0; w < c.vectors.wordsPerRow(); ++w)
      h += __builtin_popcountll(c.vectors.row(0)[w] ^ c.vectors.row(i)[w]);
    EXPECT_LE(double(c.certificate.dim - 2 * h) / double(c.certificate.dim),
              c.certificate.maxInnerProduct);
  }
}

} // namespace
} // namespace handwire
