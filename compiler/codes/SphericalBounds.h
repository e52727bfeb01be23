// Universal lower limits on the width of a position code: how many
// dimensions any `count` unit vectors with a given one- or two-sided bound on
// their inner products need, whatever family they come from (docs/codes.md,
// "Lower limits").
#pragma once

#include <cstdint>
#include <string>

namespace handwire {

// Levenshtein's linear-programming bound L(n, s) on A(n, s), the most unit
// vectors in R^n with pairwise inner products <= s (V. I. Levenshtein,
// "Universal bounds for codes and designs", Handbook of Coding Theory, 1998,
// §6; notation of Boyvalenkov, Danev and Bumova, IEEE Trans. IT 42, 1996).
// Valid for n >= 2 and -1 <= s < 1; returns +infinity for s >= 1. The bound
// increases with s, so once it provably reaches `cap` the search for s's
// interval stops and some value in [cap, L(n, s)] is returned.
long double levenshteinBound(int64_t n, double s,
                             long double cap = 1.0L / 0.0L);

// Smallest n not excluded for `count` unit vectors with max inner product <= s
// (one-sided): the smallest n with L(n, s) >= count, or the exact answers for
// s <= 0 (A(n, s) = min(n + 1, floor(1 - 1/s)) for s < 0, A(n, 0) = 2n).
// -1 when no dimension holds them (s < 0 and count > 1 - 1/s).
int64_t levenshteinLowerLimit(int64_t count, double s);

// Smallest dimension not excluded for `count` unit vectors with two-sided
// coherence <= mu by the generalized Welch bounds (orders 1..12) and
// Levenshtein's bound for lines (codes-and-bounds.md §1.3).
int64_t welchLevenshteinLowerLimit(int64_t count, double mu);

// The best limit known here for a requirement, and the bound that gives it.
struct DimensionLimit {
  int64_t dim = 0;
  // "Welch", "Levenshtein LP (lines)" or "Levenshtein LP"; ties are joined
  // by " = ".
  std::string bound;
};

// One-sided: levenshteinLowerLimit. Two-sided (coherence <= mu): the largest
// of the generalized Welch bounds, Levenshtein's bound for lines, and the LP
// bound for 2 * count vectors, since {+-T(i)} is a one-sided code of
// 2 * count distinct unit vectors with max inner product <= mu when mu < 1.
DimensionLimit codeDimensionLimit(int64_t count, double mu, bool twoSided);

} // namespace handwire
