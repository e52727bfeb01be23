// Levenshtein's bound, evaluated as in Boyvalenkov, Danev and Bumova (1996):
// with P_i the Gegenbauer polynomials of S^{n-1} normalized to P_i(1) = 1,
//   L_{2k-1}(n, s) = C(k+n-3, k-1) [ (2k+n-3)/(n-1)
//                      - (P_{k-1}(s) - P_k(s)) / ((1-s) P_k(s)) ]
//                    for s in [t_{k-1}^{1,1}, t_k^{1,0}],
//   L_{2k}(n, s)   = C(k+n-2, k) [ (2k+n-1)/(n-1)
//                      - (1+s) (P_k(s) - P_{k+1}(s))
//                        / ((1-s) (P_k(s) + P_{k+1}(s))) ]
//                    for s in [t_k^{1,0}, t_k^{1,1}],
// where t_k^{a,b} is the largest zero of the Jacobi polynomial
// P_k^{(a + (n-3)/2, b + (n-3)/2)} and t_0^{1,1} = -1. The endpoints
// interlace, -1 < t_1^{1,0} < t_1^{1,1} < t_2^{1,0} < ... < 1, and at the left
// end of the j-th interval L_j equals the Delsarte-Goethals-Seidel number
// D(n, j).
#include "codes/SphericalBounds.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace handwire {

namespace {

using Real = long double;

// P_0(t) .. P_m(t), normalized P_i(1) = 1. The recurrence
// (i + n - 2) P_{i+1} = (2i + n - 2) t P_i - i P_{i-1} keeps |P_i| <= 1 on
// [-1, 1], so it is stable for any n.
void gegenbauer(int64_t n, Real t, int m, std::vector<Real> &p) {
  p.assign(m + 1, 1);
  if (m >= 1)
    p[1] = t;
  for (int i = 1; i < m; ++i)
    p[i + 1] = ((2 * i + n - 2) * t * p[i] - i * p[i - 1]) / Real(i + n - 2);
}

// The j-th endpoint: t_k^{1,0} for j = 2k - 1, t_k^{1,1} for j = 2k. By
// Christoffel's theorem P_k^{1,0} is proportional to
// (P_{k+1} - P_k) / (t - 1) and P_k^{1,1} to (P_{k+2} - P_k) / (t^2 - 1), both
// with positive leading coefficient, so above their largest zero (and below 1)
// P_k > P_{k+1}, resp. P_k > P_{k+2}. By interlacing that zero is the only one
// in (previous endpoint, 1): bisect there.
Real endpoint(int64_t n, int j, Real previous, std::vector<Real> &p) {
  const int k = (j + 1) / 2, m = j % 2 == 1 ? 1 : 2;
  Real lo = previous, hi = 1;
  for (int it = 0; it < 200; ++it) {
    const Real mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi)
      break;
    gegenbauer(n, mid, k + m, p);
    (p[k] > p[k + m] ? hi : lo) = mid;
  }
  return (lo + hi) / 2;
}

Real binomial(Real a, int b) { // C(a, b) for integer b >= 0
  Real r = 1;
  for (int i = 1; i <= b; ++i)
    r = r * (a - b + i) / i;
  return r;
}

// D(n, j): L_{j+1} at the left end of its interval.
Real dgs(int64_t n, int j) {
  const int e = j / 2;
  if (j % 2 == 0) // C(n+e-1, n-1) + C(n+e-2, n-1)
    return binomial(Real(n + e - 1), e) +
           (e >= 1 ? binomial(Real(n + e - 2), e - 1) : 0);
  return 2 * binomial(Real(n + e - 1), e);
}

Real levenshteinAt(int64_t n, int j, Real s, std::vector<Real> &p) {
  const int k = (j + 1) / 2;
  gegenbauer(n, s, k + 1, p);
  if (j % 2 == 1)
    return binomial(Real(k + n - 3), k - 1) *
           (Real(2 * k + n - 3) / Real(n - 1) -
            (p[k - 1] - p[k]) / ((1 - s) * p[k]));
  return binomial(Real(k + n - 2), k) *
         (Real(2 * k + n - 1) / Real(n - 1) -
          (1 + s) * (p[k] - p[k + 1]) / ((1 - s) * (p[k] + p[k + 1])));
}

// welchLevenshteinLowerLimit with either family of bounds switched off, to
// tell which one binds.
int64_t twoSidedLimit(int64_t count, double mu, bool welch, bool lines) {
  const double N = double(count), mu2 = mu * mu;
  if (count <= 1)
    return 1;
  for (int64_t d = 1;; ++d) {
    if (d >= count)
      return d; // an orthonormal basis has coherence 0
    const double dd = double(d);
    bool excluded = false;
    // Generalized Welch: mu^(2k) >= (N / C(d+k-1, k) - 1) / (N - 1).
    double binom = 1, muPow = 1;
    for (int k = 1; welch && k <= 12 && !excluded; ++k) {
      binom = binom * (dd + k - 1) / k;
      muPow *= mu2;
      excluded = muPow < (N / binom - 1) / (N - 1);
    }
    // Levenshtein for lines, for N > d (d + 1) / 2.
    if (lines && !excluded && N > dd * (dd + 1) / 2)
      excluded = mu2 < (3 * N - dd * dd - 2 * dd) / ((dd + 2) * (N - dd));
    if (!excluded)
      return d;
  }
}

} // namespace

int64_t welchLevenshteinLowerLimit(int64_t count, double mu) {
  return twoSidedLimit(count, mu, true, true);
}

long double levenshteinBound(int64_t n, double s, long double cap) {
  if (s >= 1)
    return std::numeric_limits<Real>::infinity();
  std::vector<Real> p;
  Real left = -1;
  // Each interval is entered once; s < 1 lies in one of them since the
  // endpoints tend to 1, but near 1 that can take many: give up (the bound
  // is then beyond any count we use) after 10^5.
  for (int j = 1; j <= 100000; ++j) {
    const Real right = endpoint(n, j, left, p);
    if (Real(s) <= right)
      return levenshteinAt(n, j, s, p);
    if (dgs(n, j + 1) >= cap) // L(n, s) >= L_{j+1}(n, right) = D(n, j + 1)
      return dgs(n, j + 1);
    left = right;
  }
  return std::numeric_limits<Real>::infinity();
}

int64_t levenshteinLowerLimit(int64_t count, double s) {
  if (count <= 2 || s >= 1)
    return 1; // {x, -x} in R^1
  if (s < 0) {
    // A simplex of count vertices needs count - 1 dims; the Rankin bound
    // 1 - 1/s caps count in every dimension (tolerant of 1/s's rounding).
    if (Real(count) > 1 - 1 / Real(s) + 1e-9L * Real(count))
      return -1;
    return count - 1;
  }
  if (s == 0)
    return (count + 1) / 2; // the orthoplex {+-e_i}
  // Exclude n only when L(n, s) is below count by more than rounding could
  // explain, so the limit never overstates (L(8, 1/2) = 240 exactly).
  const Real need = Real(count) * (1 - 1e-12L);
  for (int64_t n = 2;; ++n)
    if (levenshteinBound(n, s, need) >= need)
      return n;
}

DimensionLimit codeDimensionLimit(int64_t count, double mu, bool twoSided) {
  if (!twoSided)
    return {levenshteinLowerLimit(count, mu), "Levenshtein LP"};
  const std::pair<int64_t, const char *> bounds[] = {
      {twoSidedLimit(count, mu, true, false), "Welch"},
      {twoSidedLimit(count, mu, false, true), "Levenshtein LP (lines)"},
      {mu < 1 ? levenshteinLowerLimit(2 * count, mu) : 1, "Levenshtein LP"}};
  DimensionLimit best;
  for (const auto &[dim, name] : bounds)
    best.dim = std::max(best.dim, dim);
  for (const auto &[dim, name] : bounds)
    if (dim == best.dim)
      best.bound += (best.bound.empty() ? "" : " = ") + std::string(name);
  return best;
}

} // namespace handwire
