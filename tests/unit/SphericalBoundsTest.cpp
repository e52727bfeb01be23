// Universal lower limits on code widths (codes/SphericalBounds.h):
// Levenshtein's bound against the values it is known to attain, hand
// computations and its monotonicity, and every code makeCode certifies against
// the limits.
#include "codes/SphericalBounds.h"
#include "codes/NearOrthogonalCode.h"

#include <gtest/gtest.h>

#include <cmath>

namespace handwire {
namespace {

// Codes that attain the bound (Levenshtein 1998, §6): E8's and the Leech
// lattice's minimal vectors, the icosahedron, regular polygons; the simplex
// and orthoplex at the ends of the first two intervals.
TEST(SphericalBounds, LevenshteinAttainedByTheKnownCodes) {
  EXPECT_NEAR(double(levenshteinBound(8, 0.5)), 240, 1e-9);
  EXPECT_NEAR(double(levenshteinBound(24, 0.5)), 196560, 1e-6);
  EXPECT_NEAR(double(levenshteinBound(3, 1 / std::sqrt(5.0))), 12, 1e-9);
  for (int m = 3; m <= 40; ++m)
    EXPECT_NEAR(double(levenshteinBound(2, std::cos(2 * M_PI / m))), m, 1e-7)
        << m << "-gon";
  for (int64_t n : {2, 3, 7, 100, 3000}) {
    EXPECT_NEAR(double(levenshteinBound(n, -1.0 / double(n))), n + 1, 1e-6);
    EXPECT_NEAR(double(levenshteinBound(n, 0)), 2 * n, 1e-6);
    EXPECT_NEAR(double(levenshteinBound(n, -1)), 2, 1e-9);
  }
  // The kissing-number bounds of dimensions 3 and 4: 93/7 and 26.
  EXPECT_NEAR(double(levenshteinBound(3, 0.5)), 93.0 / 7, 1e-9);
  EXPECT_NEAR(double(levenshteinBound(4, 0.5)), 26, 1e-9);
}

// L_1 = 1 - 1/s on [-1, -1/n] and L_2 with P_1 = s, P_2 = (n s^2 - 1)/(n - 1)
// on [-1/n, 0], written out.
TEST(SphericalBounds, FirstIntervalsByHand) {
  for (double s : {-1.0, -0.7, -0.5, -0.35})
    EXPECT_NEAR(double(levenshteinBound(3, s)), 1 - 1 / s, 1e-12) << s;
  for (double s : {-0.2, -0.1, -0.01}) {
    const double p1 = s, p2 = (3 * s * s - 1) / 2;
    EXPECT_NEAR(double(levenshteinBound(3, s)),
                2 * (2 - (1 + s) * (p1 - p2) / ((1 - s) * (p1 + p2))), 1e-12)
        << s;
  }
}

TEST(SphericalBounds, LevenshteinIncreasesInDimensionAndInnerProduct) {
  for (int64_t n : {2, 3, 5, 16, 64, 300}) {
    long double last = 0;
    for (double s = -0.99; s < 0.95; s += 0.02) {
      const long double l = levenshteinBound(n, s);
      EXPECT_GE(l, last * (1 - 1e-12L)) << "n = " << n << ", s = " << s;
      last = l;
    }
  }
  for (double s : {-0.3, 0.0, 0.1, 0.25, 0.5, 0.8}) {
    long double last = 0;
    for (int64_t n = 2; n <= 200; ++n) {
      const long double l = levenshteinBound(n, s);
      EXPECT_GE(l, last) << "n = " << n << ", s = " << s;
      last = l;
    }
  }
}

TEST(SphericalBounds, DimensionLimits) {
  // Exactly where an attaining code stops fitting.
  EXPECT_EQ(levenshteinLowerLimit(240, 0.5), 8);
  EXPECT_EQ(levenshteinLowerLimit(241, 0.5), 9);
  EXPECT_EQ(levenshteinLowerLimit(196560, 0.5), 24);
  EXPECT_EQ(levenshteinLowerLimit(196561, 0.5), 25);
  EXPECT_EQ(levenshteinLowerLimit(12, 1 / std::sqrt(5.0)), 3);
  EXPECT_EQ(levenshteinLowerLimit(13, 1 / std::sqrt(5.0)), 4);
  // s = 0: the orthoplex; s < 0: the simplex, and nothing beyond 1 - 1/s.
  EXPECT_EQ(levenshteinLowerLimit(1000, 0), 500);
  EXPECT_EQ(levenshteinLowerLimit(1001, 0), 501);
  EXPECT_EQ(levenshteinLowerLimit(5, -0.25), 4);
  EXPECT_EQ(levenshteinLowerLimit(6, -0.25), -1);
  EXPECT_EQ(levenshteinLowerLimit(2, 0.9), 1);
  // Monotone in N and s, and large cases stay fast and finite.
  for (double s : {0.01, 0.125, 0.5, 0.9}) {
    int64_t last = 1;
    for (int64_t N = 2; N <= (int64_t(1) << 24); N *= 4) {
      const int64_t d = levenshteinLowerLimit(N, s);
      EXPECT_GE(d, last) << N << " at " << s;
      last = d;
    }
  }
  for (int64_t N : {int64_t(1) << 10, int64_t(1) << 20}) {
    int64_t last = N;
    for (double s = 0.05; s < 1; s += 0.05) {
      const int64_t d = levenshteinLowerLimit(N, s);
      EXPECT_LE(d, last) << N << " at " << s;
      last = d;
    }
  }
}

// A two-sided code is one-sided, and {+-T(i)} is a one-sided code of twice the
// size: the two-sided limit dominates both, and the old Welch/Levenshtein one.
TEST(SphericalBounds, TwoSidedLimitIsTheLargest) {
  for (int64_t N :
       {int64_t(100), int64_t(1) << 10, int64_t(65535), int64_t(1) << 20})
    for (double mu : {0.05, 0.125, 0.25, 0.5, 0.9}) {
      const DimensionLimit one = codeDimensionLimit(N, mu, false);
      const DimensionLimit two = codeDimensionLimit(N, mu, true);
      EXPECT_EQ(one.bound, "Levenshtein LP");
      EXPECT_EQ(one.dim, levenshteinLowerLimit(N, mu));
      EXPECT_GE(two.dim, levenshteinLowerLimit(2 * N, mu));
      EXPECT_GE(two.dim, welchLevenshteinLowerLimit(N, mu));
      EXPECT_GT(two.dim, one.dim - 1);
      EXPECT_FALSE(two.bound.empty());
    }
  // At 1/4 Welch saturates (46 dims from 2^16 on); the LP bound does not.
  EXPECT_EQ(codeDimensionLimit(1 << 20, 0.25, true).bound, "Levenshtein LP");
  EXPECT_GT(codeDimensionLimit(1 << 20, 0.25, true).dim, 46);
  // At small coherence the first-order Welch bound N / (1 + (N - 1) mu^2) wins.
  EXPECT_EQ(codeDimensionLimit(1 << 10, 0.01, true).bound, "Welch");
}

CodeRequest request(CodeFamily family, int64_t count, double mu,
                    Sidedness sided) {
  CodeRequest r;
  r.family = family;
  r.count = count;
  r.coherence = mu;
  r.sided = sided;
  r.seed = 7;
  return r;
}

// Every certified code is at least as wide as the limit for its requirement,
// and for the inner products it actually attains (a smaller bound only raises
// the limit). makeCode also refuses to return a code below its limit.
TEST(SphericalBounds, CertifiedCodesRespectTheLimits) {
  int checked = 0;
  for (CodeFamily family :
       {CodeFamily::Auto, CodeFamily::Rademacher, CodeFamily::RandomLinear,
        CodeFamily::Binary, CodeFamily::DualBch, CodeFamily::Gold,
        CodeFamily::ExtendedBch, CodeFamily::Kerdock})
    for (int64_t N : {16, 64, 257, 1024, 4096})
      for (double mu : {0.25, 0.5, 0.8})
        for (Sidedness sided : {Sidedness::OneSided, Sidedness::TwoSided}) {
          const CodeRequest r = request(family, N, mu, sided);
          Code c;
          try {
            c = makeCode(r);
          } catch (const std::exception &) {
            continue; // the family cannot meet this request
          }
          const CodeCertificate &k = c.certificate;
          const bool two = sided == Sidedness::TwoSided;
          const std::string what = k.family + " N = " + std::to_string(N) +
                                   " mu = " + std::to_string(mu) + " " +
                                   k.requirement;
          EXPECT_EQ(k.lowerLimitDim, codeDimensionLimit(N, mu, two).dim)
              << what;
          EXPECT_GE(k.dim, k.lowerLimitDim) << what;
          EXPECT_GE(k.dim, levenshteinLowerLimit(N, k.maxInnerProduct)) << what;
          EXPECT_GE(k.dim, codeDimensionLimit(N, k.coherence, true).dim)
              << what;
          ++checked;
        }
  EXPECT_GT(checked, 100);
}

} // namespace
} // namespace handwire
