#include "analysis/SeparationCard.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace handwire {

namespace {
// Gilbert-Varshamov: {+1,-1}^d holds at least 2^d / sum_{i<m} C(d, i) points
// with pairwise Hamming distance >= m (m = the margin in Hamming units).
double gilbertVarshamov(const TaskSpec &task) {
  double ball = 0, binom = 1;
  for (int64_t i = 0; i < task.hammingMargin(); ++i) {
    ball += binom;
    binom = binom * static_cast<double>(task.dimension - i) /
            static_cast<double>(i + 1);
  }
  return std::floor(std::ldexp(1.0, static_cast<int>(task.dimension)) / ball);
}
} // namespace

SeparationCard separationCard(const TaskSpec &task, const Network &net) {
  SeparationCard c;
  c.task = taskKindName(task.kind);
  c.architecture = architectureName(net.arch);
  c.construction = net.provenance.construction;
  c.result = net.provenance.result;
  c.maxLength = task.maxLength;
  c.alphabetSize = task.kind == TaskKind::NearestNeighbour
                       ? task.labels
                       : static_cast<int64_t>(task.alphabet.size());
  c.precisionBits = precisionBits(net.precision);
  c.width = net.width;
  c.parameters = parameterCount(net);
  if (net.certificate.code)
    c.codeDim = net.certificate.code->dim;

  const double N = static_cast<double>(task.maxLength);
  const double logV = std::log2(static_cast<double>(c.alphabetSize));
  if (net.isTransformer()) {
    const TransformerBody &t = net.transformer();
    c.layers = static_cast<int64_t>(t.layers.size());
    int64_t cut = 0;
    for (const auto &layer : t.layers) {
      c.heads += static_cast<int64_t>(layer.heads.size());
      for (const auto &h : layer.heads)
        cut += (h.value.rows() + 1) * c.precisionBits;
    }
    if (c.layers == 1) {
      c.sizeMeasure = "cut bits";
      c.sizeBits = cut;
    } else {
      c.sizeMeasure = "width";
      c.sizeBits = 0;
    }
  } else {
    c.layers = 1;
    // What the one-way bounds count is the state carried between tokens; a
    // read-out head runs once, after the last token, so it is not state (its
    // weights are in `parameters`).
    c.sizeMeasure = "state bits";
    c.sizeBits = net.width * c.precisionBits;
  }

  switch (task.kind) {
  case TaskKind::IndexLookup:
    if (net.arch == Architecture::RNN) {
      c.bound = "state bits >= N log2|alphabet|";
      c.boundBits = N * logV;
      c.boundNote =
          "B24 RNN lower bound via one-way INDEX: after the symbols, the "
          "state must tell apart all |alphabet|^N sequences";
    } else {
      c.bound = "none";
      c.boundNote =
          "index lookup escapes the one-layer bound: the index token is on "
          "Bob's side, so a two-way protocol of O(log N) bits exists; the "
          "upper bound used is width V + 2k + 1 with k = O(log N)";
    }
    break;
  case TaskKind::BoundedDyck:
    if (net.arch == Architecture::RNN) {
      double states = 1; // the dead state
      // In floating point: Dyck-(16,16) has 16^17 states (int64_t wraps).
      double p = 1;
      for (int64_t i = 0; i <= task.depth;
           ++i, p *= static_cast<double>(task.brackets))
        states += p;
      c.bound = "state bits >= log2(1 + sum_{i<=m} k^i) >= m log2 k";
      c.boundBits = std::log2(states);
      c.boundNote =
          "information bound: the state must tell apart every reachable "
          "stack and the dead state; constant in N, and at least m log2 k "
          "(Hewitt et al.'s Omega(m log k))";
    } else if (c.layers == 1) {
      c.bound = "cut bits >= floor(N/2) + 1";
      c.boundBits = std::floor(N / 2) + 1;
      c.boundNote =
          "B24 one-layer lower bound via EQUALITY: blocks (x_i y_i) make the "
          "string balanced iff x = y";
    } else {
      c.bound = "none";
      c.boundNote =
          "no lower bound is known for two or more layers (Yao et al.: "
          "O(log k) width suffices)";
    }
    break;
  case TaskKind::StringEquality:
  case TaskKind::Disjointness: {
    const char *problem =
        task.kind == TaskKind::StringEquality ? "EQUALITY" : "DISJOINTNESS";
    if (net.arch == Architecture::RNN) {
      c.bound = "state bits >= n";
      c.boundBits = N;
      c.boundNote = std::string("B24 via one-way ") + problem +
                    ": after x the state must tell apart all 2^n strings";
    } else if (c.layers == 1) {
      c.bound = "cut bits >= n + 1";
      c.boundBits = N + 1;
      c.boundNote =
          std::string("B24 one-layer bound via ") + problem +
          ": Alice sends each head's partial numerators and denominator";
    } else {
      c.bound = "none";
      c.boundNote =
          "no lower bound for two or more layers; O(log N) width suffices";
    }
    break;
  }
  case TaskKind::NearestNeighbour: {
    if (net.arch == Architecture::RNN) {
      // T9 via one-way INDEX: Alice's labels sit on a code of points with
      // pairwise Hamming distance >= m (the margin), Bob queries one of them.
      // The cube holds at least the Gilbert-Varshamov number of such points,
      // so the bound is min(N, GV) log2 L.
      const double points = std::min(N, gilbertVarshamov(task));
      c.bound = "state bits >= min(N, A) log2 L";
      c.boundBits = points * std::log2(static_cast<double>(task.labels));
      std::ostringstream note;
      note << "B24 (T9) via one-way INDEX: the labels of A = "
           << static_cast<int64_t>(points)
           << " examples on points m = " << task.hammingMargin()
           << " apart (Gilbert-Varshamov in {+1,-1}^" << task.dimension
           << ", capped at N) must all survive in the state";
      c.boundNote = note.str();
    } else {
      c.bound = "none";
      c.boundNote =
          "no lower bound for two or more layers; the upper bound used is "
          "width D = 2d + L + 2 + 2k with k = O(log N)";
    }
    break;
  }
  }

  std::ostringstream v;
  if (c.boundBits) {
    c.respectsBound = static_cast<double>(c.sizeBits) >= *c.boundBits;
    v.precision(3);
    const int64_t bound = static_cast<int64_t>(std::ceil(*c.boundBits));
    if (c.respectsBound)
      v << "respects bound (" << c.sizeBits << " >= " << bound << ", "
        << static_cast<double>(c.sizeBits) / *c.boundBits << "x)";
    else
      v << "below bound: cannot be exact on all inputs (" << c.sizeBits << " < "
        << bound << ")";
  } else {
    v << "respects bound (no lower bound applies)";
  }
  c.verdict = v.str();
  return c;
}

std::string lowerBoundFor(const TaskSpec &task, Architecture arch, int layers) {
  std::ostringstream os;
  const int64_t N = task.maxLength;
  if (arch == Architecture::Transformer && layers == 1) {
    if (task.kind == TaskKind::BoundedDyck)
      os << "a one-layer Transformer recognizing Dyck-(" << task.brackets << ","
         << task.depth
         << ") needs heads x (value width + 1) x precision >= floor(N/2) + 1 = "
         << N / 2 + 1 << " bits (B24, via EQUALITY)";
    else if (task.kind == TaskKind::StringEquality ||
             task.kind == TaskKind::Disjointness)
      os << "a one-layer Transformer needs heads x (value width + 1) x "
            "precision >= n + 1 = "
         << N + 1 << " bits (B24)";
  }
  return os.str();
}

} // namespace handwire
