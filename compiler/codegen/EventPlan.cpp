// The event-driven recurrence's plan (EventPlan in ForwardPlan.h): whether an
// Elman body's update can be stepped incrementally without changing a single
// bit, and the tables the emitter reads (EmitRecurrence.cpp).
//
// Why it is exact. Every weight, bias and initial value is an integer, and
// `limit` is chosen so that, while every unit stays in [0, limit], every
// partial sum of every row (any subset of its terms, each old or new value,
// W entries times changes of up to 2 limit, two input entries during a
// token change) is an integer below 2^24 in magnitude: fp32 represents all
// of them, so each addition is exact and the order does not matter. The
// emitted code checks every value it computes against `cap` (<= limit) and
// recomputes the input densely if one is larger.
#include "codegen/ForwardPlan.h"

#include <algorithm>
#include <cmath>

namespace handwire {
namespace {

constexpr double kExact = 16777216.0; // 2^24

bool isInteger(float x) {
  return std::isfinite(x) && std::fabs(x) <= kExact && std::trunc(x) == x;
}

bool allIntegers(const float *v, int64_t n) {
  return std::all_of(v, v + n, isInteger);
}

using ColMajor = Eigen::SparseMatrix<float, Eigen::ColMajor, int32_t>;

// Per unit: its successor in a shift chain (ShiftChain), or -1. A shift unit
// u copies v: row u of W is the single entry 1 at v != u, no bias, no input.
std::vector<int32_t> chainSuccessors(const ElmanBody &e,
                                     const std::vector<int64_t> &inputsOfRow) {
  const SparseMatrix &W = e.recurrent;
  const int64_t H = W.rows();
  std::vector<int32_t> succ(static_cast<size_t>(H), -1);
  const int32_t *start = W.outerIndexPtr(), *cols = W.innerIndexPtr();
  const float *vals = W.valuePtr();
  for (int64_t u = 0; u < H; ++u) {
    if (start[u + 1] - start[u] != 1 || vals[start[u]] != 1.0f ||
        cols[start[u]] == u || e.bias[u] != 0.0f || inputsOfRow[u] != 0)
      continue;
    int32_t &s = succ[static_cast<size_t>(cols[start[u]])];
    if (s < 0) // a unit copied twice feeds one chain; the other copy is plain
      s = static_cast<int32_t>(u);
  }
  return succ;
}

// Maximal chains head -> successors of at least kMinChainLength shift units,
// longest first, at most kMaxChains (each is unrolled into the step).
std::vector<std::vector<int32_t>> findChains(const std::vector<int32_t> &succ) {
  constexpr size_t kMaxChains = 16;
  const size_t H = succ.size();
  std::vector<char> isSuccessor(H, 0);
  for (int32_t s : succ)
    if (s >= 0)
      isSuccessor[static_cast<size_t>(s)] = 1;
  std::vector<std::vector<int32_t>> chains;
  for (size_t v = 0; v < H; ++v) {
    if (isSuccessor[v] || succ[v] < 0)
      continue; // not a head (a pure cycle of shift units has none)
    std::vector<int32_t> c{static_cast<int32_t>(v)};
    for (int32_t u = succ[v]; u >= 0; u = succ[static_cast<size_t>(u)])
      c.push_back(u);
    if (static_cast<int64_t>(c.size()) - 1 >= kMinChainLength)
      chains.push_back(std::move(c));
  }
  std::stable_sort(
      chains.begin(), chains.end(),
      [](const auto &a, const auto &b) { return a.size() > b.size(); });
  if (chains.size() > kMaxChains)
    chains.resize(kMaxChains);
  return chains;
}

// The common bound on every unit: the largest L with 2 sum|W_r| L + |b_r| +
// 2 max|U_r| <= 2^24 for every row r (0: none).
double commonLimit(const ElmanBody &e, const std::vector<double> &maxAbsInput) {
  const SparseMatrix &W = e.recurrent;
  double limit = kExact / 2;
  for (int64_t r = 0; r < W.rows(); ++r) {
    double w = 0;
    for (SparseMatrix::InnerIterator it(W, r); it; ++it)
      w += std::fabs(static_cast<double>(it.value()));
    const double room = kExact - std::fabs(static_cast<double>(e.bias[r])) -
                        2 * maxAbsInput[static_cast<size_t>(r)];
    if (room < 0)
      return 0;
    if (w > 0)
      limit = std::min(limit, std::floor(room / (2 * w)));
  }
  return limit;
}

// A shift chain's taps, ring and initial changes (ShiftChain).
ShiftChain chainOf(const std::vector<int32_t> &units, const EventPlan &p,
                   const Vector &initial) {
  ShiftChain c;
  c.units = units;
  const int64_t k = c.length(), K = c.ringSize();
  c.tapped.assign(static_cast<size_t>(k + 1), 0);
  for (int64_t i = 1; i <= k; ++i) {
    const int32_t u = units[static_cast<size_t>(i)];
    if (p.colStart[static_cast<size_t>(u) + 1] >
        p.colStart[static_cast<size_t>(u)]) {
      c.taps.push_back(static_cast<int32_t>(i));
      c.tapped[static_cast<size_t>(i)] = 1;
    }
  }
  auto init = [&](int64_t j) {
    return initial[units[static_cast<size_t>(std::min(j, k))]];
  };
  c.ring.assign(static_cast<size_t>(K), 0.0f);
  for (int64_t j = 0; j <= k + 1; ++j) // value(-j), ring index (-j + K) % K
    c.ring[static_cast<size_t>((K - j) % K)] = init(j);
  // value(s) != value(s - 1) at s = 1 - i: units i - 1 and i differ at t = 0.
  for (int64_t i = k; i >= 1; --i)
    if (init(i - 1) != init(i))
      c.changes.push_back(1 - i);
  return c;
}

// Readers of each column of [W U] among computed rows (not chain members).
std::vector<int64_t> readersOf(const SparseMatrix &W, const ColMajor &U,
                               const std::vector<char> &member) {
  const int64_t H = W.rows(), T = U.cols();
  std::vector<int64_t> fanOut(static_cast<size_t>(H + T), 0);
  for (int64_t r = 0; r < H; ++r)
    if (!member[static_cast<size_t>(r)])
      for (SparseMatrix::InnerIterator it(W, r); it; ++it)
        ++fanOut[static_cast<size_t>(it.index())];
  for (int64_t t = 0; t < T; ++t)
    for (ColMajor::InnerIterator it(U, t); it; ++it)
      if (!member[static_cast<size_t>(it.index())])
        ++fanOut[static_cast<size_t>(H + t)];
  return fanOut;
}

// The bound on each column's value where one is known, else -1: a unit
// with no recurrent weight is its bias plus one input entry (or its initial
// value); a token's indicator is at most 1.
std::vector<double> columnBounds(const ElmanBody &e, const ColMajor &U,
                                 const std::vector<char> &member,
                                 const std::vector<int64_t> &inputsOfRow,
                                 const std::vector<double> &maxInput) {
  const SparseMatrix &W = e.recurrent;
  const int64_t H = W.rows(), T = U.cols();
  std::vector<double> valueBound(static_cast<size_t>(H + T), -1);
  const int32_t *start = W.outerIndexPtr();
  for (int64_t c = 0; c < H; ++c) {
    const size_t u = static_cast<size_t>(c);
    if (start[c + 1] > start[c] || member[u])
      continue;
    const double top =
        inputsOfRow[u] < T ? std::max(maxInput[u], 0.0) : maxInput[u];
    valueBound[u] =
        std::max({0.0, double(e.bias[c]) + top, double(e.initial[c])});
  }
  std::fill(valueBound.begin() + H, valueBound.end(), 1.0);
  return valueBound;
}

} // namespace

std::optional<EventPlan> planEvents(const ElmanBody &e, int64_t tokenCount) {
  const SparseMatrix &W = e.recurrent;
  ColMajor U = e.input;
  U.makeCompressed();
  const int64_t H = W.rows(), T = tokenCount;
  if (!allIntegers(W.valuePtr(), W.nonZeros()) ||
      !allIntegers(U.valuePtr(), U.nonZeros()) ||
      !allIntegers(e.bias.data(), H) || !allIntegers(e.initial.data(), H) ||
      (e.initial.array() < 0).any())
    return std::nullopt;
  // Per row of U: entries, the largest |entry| and the largest entry over all
  // tokens (a token without an entry gives 0).
  std::vector<int64_t> inputsOfRow(static_cast<size_t>(H), 0);
  std::vector<double> maxAbsInput(static_cast<size_t>(H), 0),
      maxInput(static_cast<size_t>(H), -kExact);
  for (int64_t t = 0; t < T; ++t)
    for (ColMajor::InnerIterator it(U, t); it; ++it) {
      const size_t r = static_cast<size_t>(it.index());
      ++inputsOfRow[r];
      maxAbsInput[r] = std::max(maxAbsInput[r], std::fabs(double(it.value())));
      maxInput[r] = std::max(maxInput[r], double(it.value()));
    }
  const double limit = commonLimit(e, maxAbsInput);
  if (limit < 1 || e.initial.maxCoeff() > limit)
    return std::nullopt;

  EventPlan p;
  p.columns = H + T;
  p.limit = static_cast<float>(limit);
  const std::vector<std::vector<int32_t>> chains =
      findChains(chainSuccessors(e, inputsOfRow));
  std::vector<char> member(static_cast<size_t>(H), 0);
  for (const auto &c : chains)
    for (size_t i = 1; i < c.size(); ++i)
      member[static_cast<size_t>(c[i])] = 1;

  const std::vector<double> valueBound =
      columnBounds(e, U, member, inputsOfRow, maxInput);
  const std::vector<int64_t> fanOut = readersOf(W, U, member);
  p.broadcast.assign(static_cast<size_t>(H + T), 0);
  for (size_t c = 0; c < valueBound.size(); ++c)
    p.broadcast[c] = fanOut[c] > kBroadcastFanOut && valueBound[c] >= 0 &&
                     valueBound[c] <= limit;
  p.cap.assign(static_cast<size_t>(H), p.limit);
  for (size_t c = 0; c < static_cast<size_t>(H); ++c)
    if (p.broadcast[c])
      p.cap[c] = static_cast<float>(valueBound[c]);

  // Every entry of [W U] read by a computed row, through `f(r, c, v)`.
  auto forEachEntry = [&](auto f) {
    for (int64_t r = 0; r < H; ++r)
      if (!member[static_cast<size_t>(r)])
        for (SparseMatrix::InnerIterator it(W, r); it; ++it)
          f(static_cast<size_t>(r), static_cast<size_t>(it.index()),
            it.value());
    for (int64_t t = 0; t < T; ++t)
      for (ColMajor::InnerIterator it(U, t); it; ++it)
        if (!member[static_cast<size_t>(it.index())])
          f(static_cast<size_t>(it.index()), static_cast<size_t>(H + t),
            it.value());
  };
  // Plain entries into the CSC, broadcast ones into the row lists (counted,
  // then placed); s0 = bias + plain W h_0; bound = the largest g.
  p.colStart.assign(static_cast<size_t>(H + T + 1), 0);
  p.rowStart.assign(static_cast<size_t>(H + 1), 0);
  forEachEntry([&](size_t r, size_t c, float) {
    ++(p.broadcast[c] ? p.rowStart[r + 1] : p.colStart[c + 1]);
  });
  for (size_t c = 0; c + 1 < p.colStart.size(); ++c)
    p.colStart[c + 1] += p.colStart[c];
  for (size_t r = 0; r + 1 < p.rowStart.size(); ++r)
    p.rowStart[r + 1] += p.rowStart[r];
  p.colRows.resize(static_cast<size_t>(p.colStart.back()));
  p.colVals.resize(p.colRows.size());
  p.rowCols.resize(static_cast<size_t>(p.rowStart.back()));
  p.rowVals.resize(p.rowCols.size());
  std::vector<int32_t> colFill(p.colStart.begin(), p.colStart.end() - 1),
      rowFill(p.rowStart.begin(), p.rowStart.end() - 1);
  std::vector<double> s0(e.bias.data(), e.bias.data() + H),
      bound(static_cast<size_t>(H), 0), tokenTop(static_cast<size_t>(H), 0);
  forEachEntry([&](size_t r, size_t c, float v) {
    if (p.broadcast[c]) {
      const size_t k = static_cast<size_t>(rowFill[r]++);
      p.rowCols[k] = static_cast<int32_t>(c);
      p.rowVals[k] = v;
      if (c < static_cast<size_t>(H))
        bound[r] += std::max(double(v), 0.0) * valueBound[c];
      else // one token at a time
        tokenTop[r] = std::max(tokenTop[r], double(v));
    } else {
      const size_t k = static_cast<size_t>(colFill[c]++);
      p.colRows[k] = static_cast<int32_t>(r);
      p.colVals[k] = v;
      if (c < static_cast<size_t>(H))
        s0[r] += double(v) * double(e.initial[static_cast<int64_t>(c)]);
    }
  });
  p.s0.assign(static_cast<size_t>(H), 0.0f);
  p.bound.assign(static_cast<size_t>(H), 0.0f);
  for (int64_t r = 0; r < H; ++r) {
    const size_t ru = static_cast<size_t>(r);
    if (member[ru])
      continue;
    p.rows.push_back(static_cast<int32_t>(r));
    // Integers below 2^24 (every term is at most |W| limit): exact.
    p.s0[ru] = static_cast<float>(s0[ru]);
    p.bound[ru] = static_cast<float>(bound[ru] + tokenTop[ru]);
  }
  for (const auto &c : chains)
    p.chains.push_back(chainOf(c, p, e.initial));
  return p;
}

} // namespace handwire
