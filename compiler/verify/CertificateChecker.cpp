#include "verify/CertificateChecker.h"

#include "spec/Vocabulary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>

namespace handwire {
namespace {

// --- the arithmetic model, written out again (not shared with the compiler)

struct Rounding {
  double us;            // stored numbers
  double ua;            // accumulation
  double halfSubnormal; // half the format's smallest positive number
  int significand;      // bits, with the implicit one
  double maxFinite;
};

Rounding roundingOf(Precision p) {
  switch (p) {
  case Precision::F16:
    return {0x1p-11, 0x1p-24, 0x1p-25, 11, 65504.0};
  case Precision::BF16:
    return {0x1p-8, 0x1p-24, 0x1p-134, 8, 3.3895313892515355e38};
  case Precision::F64: // fp32 weights, fp64 arithmetic
    return {0x1p-24, 0x1p-53, 0x1p-150, 53, 3.4028234663852886e38};
  case Precision::F32:
    break;
  }
  return {0x1p-24, 0x1p-24, 0x1p-150, 24, 3.4028234663852886e38};
}

// x as the format stores it (round to nearest even).
float storedAs(float x, Precision p) {
  if (p == Precision::F16)
    return static_cast<float>(static_cast<_Float16>(x));
  if (p != Precision::BF16 || std::isnan(x))
    return x;
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

double gammaOf(double n, double u) {
  return n * u < 1 ? n * u / (1 - n * u)
                   : std::numeric_limits<double>::infinity();
}

std::string num(double x) {
  std::ostringstream os;
  os.precision(7);
  os << x;
  return os.str();
}

Eigen::MatrixXd storedDense(const WeightMatrix &w, Precision p) {
  Eigen::MatrixXd out(w.rows(), w.cols());
  const Matrix d = w.toDense();
  for (int64_t r = 0; r < d.rows(); ++r)
    for (int64_t c = 0; c < d.cols(); ++c)
      out(r, c) = storedAs(d(r, c), p);
  return out;
}

// Steps 4-8 of the chain: from a gap G in logits that every competitor
// trails by after rounding, the target's weight and the leak.
struct ChainEnd {
  double w = 0, leak = 1;
  bool holds = false;
};

ChainEnd chainEnd(double G, double competitors, double leakage,
                  const Rounding &r) {
  ChainEnd e;
  if (!(G > 0))
    return e;
  const double c =
      std::exp(-std::min((1 - r.ua) * G, 87.34)) * (1 + 4 * r.ua) * (1 + r.us) +
      r.halfSubnormal;
  const double mass = competitors * c, g = gammaOf(competitors + 1, r.ua);
  const double Z =
      std::min((1 + mass) * (1 + g), 1 + 2 * (1 + g) * (1 + g) * mass);
  e.w = (1 / Z) * (1 - r.ua) * (1 - r.us);
  const double share =
      std::min(mass * (1 + g), g < 1 ? mass / (1 + mass) * (1 + g) / (1 - g)
                                     : std::numeric_limits<double>::infinity());
  e.leak = share * (1 + r.ua) * (1 + r.us);
  e.holds = std::isfinite(Z) && e.w >= 1 - leakage && e.leak <= leakage;
  return e;
}

std::string chainText(double G, const ChainEnd &e, double leakage) {
  return "gap after rounding " + num(G) + ", target weight >= " + num(e.w) +
         ", leak <= " + num(e.leak) + " (leakage " + num(leakage) + ")";
}

// --- checks

class Checker {
public:
  Checker(const TaskSpec &task, const Network &net)
      : task_(task), net_(net), r_(roundingOf(net.precision)) {}

  CertificateReport run() {
    check("certificate", net_.certificate.certified,
          net_.certificate.certified ? "the file says certified"
                                     : "the file says NOT certified");
    checkWeightsFinite();
    if (net_.isTransformer())
      for (const HeadCertificate &h : net_.certificate.heads)
        checkHead(h);
    else
      checkElmanGrid();
    return std::move(report_);
  }

private:
  void check(std::string subject, bool ok, std::string detail,
             bool rederived = true) {
    report_.checks.push_back(
        {std::move(subject), ok, std::move(detail), rederived});
  }

  void checkWeightsFinite() {
    double worst = 0;
    std::string where;
    forEachWeightArray(net_, [&](const std::string &name, const float *w,
                                 int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const double v = std::fabs(double(storedAs(w[i], net_.precision)));
        if (!(v <= worst)) { // NaN counts as worse
          worst = std::isnan(v) ? std::numeric_limits<double>::infinity() : v;
          where = name;
        }
      }
    });
    check("weights", std::isfinite(worst) && worst <= r_.maxFinite,
          "largest |weight| as stored in " +
              std::string(precisionName(net_.precision)) + ": " + num(worst) +
              (where.empty() ? "" : " (" + where + ")"));
  }

  void checkHead(const HeadCertificate &h) {
    int layer = -1, index = -1;
    const TransformerBody &body = net_.transformer();
    if (std::sscanf(h.head.c_str(), "layers.%d.heads.%d", &layer, &index) !=
            2 ||
        layer < 0 || index < 0 || size_t(layer) >= body.layers.size() ||
        size_t(index) >= body.layers[layer].heads.size()) {
      check(h.head, false, "no such head in the network");
      return;
    }
    const AttentionHead &head = body.layers[layer].heads[index];
    const Eigen::MatrixXd Q = storedDense(head.query, net_.precision),
                          K = storedDense(head.key, net_.precision);
    // The scale as stored: Q's largest entry, when the scale is a weight.
    double scale = h.storedScale > 0 ? h.storedScale : h.scale;
    if (h.scaleIsWeight) {
      scale = Q.cwiseAbs().maxCoeff();
      check(h.head + ": stored scale", scale >= h.requiredScale,
            "Q stores " + num(scale) + "; the certificate's minimum is " +
                num(h.requiredScale));
      if (h.storedScale > 0)
        check(h.head + ": certified scale", scale == h.storedScale,
              "the certificate was evaluated at " + num(h.storedScale) +
                  ", Q stores " + num(scale));
    }
    if (layer == 0 && measureLayerZero(h, Q, K))
      return;
    // A later layer's head (or one whose inputs mix both tables): the chain
    // from the certificate's gap and score error, at the stored scale.
    const double E =
        h.storedScale > 0 ? h.scoreError * scale / h.storedScale : h.scoreError;
    const double G = scale * h.gap - 2 * E;
    const ChainEnd e = chainEnd(G, double(h.competitors), h.leakage, r_);
    check(h.head + ": rounding chain (declared gap " + num(h.gap) +
              ", score error " + num(E) + ")",
          e.holds, chainText(G, e, h.leakage), false);
  }

  // Queries and keys of a layer-0 head are projections of x = token[w] +
  // position[i] (+ feature f, which must not reach them). When each comes from
  // one table alone, every query and key the network can form is a row of Q T^T
  // or Q P^T (K likewise), and the logit gap can be measured over all of them.
  // Returns false when the head's inputs mix both tables or are too large to
  // enumerate.
  bool measureLayerZero(const HeadCertificate &h, const Eigen::MatrixXd &Q,
                        const Eigen::MatrixXd &K) {
    const Embedding &e = net_.transformer().embed;
    const double cells =
        double(e.token.rows() + e.position.rows()) * double(net_.width);
    if (cells > double(1 << 26))
      return false;
    const Eigen::MatrixXd T = storedDense(e.token, net_.precision),
                          P = storedDense(e.position, net_.precision);
    // Continuous inputs (embed.feature) that reach the query or the key are
    // not a finite set to enumerate: such a head is left as declared.
    if (e.featureDim() > 0) {
      const Eigen::MatrixXd F = storedDense(e.feature, net_.precision);
      if ((Q * F).cwiseAbs().maxCoeff() != 0 ||
          (K * F).cwiseAbs().maxCoeff() != 0)
        return false;
    }
    const Eigen::MatrixXd QT = T * Q.transpose(), QP = P * Q.transpose(),
                          KT = T * K.transpose(), KP = P * K.transpose();
    const bool queryByToken = QP.cwiseAbs().maxCoeff() == 0,
               queryByPosition = QT.cwiseAbs().maxCoeff() == 0,
               keyByToken = KP.cwiseAbs().maxCoeff() == 0,
               keyByPosition = KT.cwiseAbs().maxCoeff() == 0;
    if (!(queryByToken || queryByPosition) || !(keyByToken || keyByPosition))
      return false;
    const Eigen::MatrixXd &Qs = queryByToken ? QT : QP;
    const Eigen::MatrixXd &Ks = keyByToken ? KT : KP;
    if (double(Qs.rows()) * double(Ks.rows()) * double(Q.rows()) > 4e9)
      return false;
    const Eigen::MatrixXd L = Qs * Ks.transpose();
    const Eigen::MatrixXd A = Qs.cwiseAbs() * Ks.cwiseAbs().transpose();
    double gap = std::numeric_limits<double>::infinity(), absDot = 0;
    int64_t queries = 0, wrongTargets = 0;
    std::string firstWrong;
    const Vocabulary voc = vocabularyOf(task_);
    for (int64_t a = 0; a < Qs.rows(); ++a) {
      if (Qs.row(a).cwiseAbs().maxCoeff() == 0)
        continue; // a row that selects nothing
      ++queries;
      absDot = std::max(absDot, A.row(a).maxCoeff());
      const double best = L.row(a).maxCoeff();
      double second = -std::numeric_limits<double>::infinity();
      int64_t bestKey = -1, ties = 0;
      for (int64_t b = 0; b < L.cols(); ++b) {
        if (L(a, b) == best) {
          bestKey = b;
          ++ties;
        } else {
          second = std::max(second, L(a, b));
        }
      }
      gap = std::min(gap, best - second);
      // Index lookup: IDX_p's best key is position p (row p - 1), alone.
      if (task_.kind == TaskKind::IndexLookup && queryByToken &&
          keyByPosition && a >= voc.firstIndexToken) {
        const int64_t p = a - voc.firstIndexToken + 1;
        if (ties != 1 || bestKey != p - 1) {
          if (!wrongTargets++)
            firstWrong = "IDX_" + std::to_string(p) + " selects position " +
                         std::to_string(bestKey + 1) +
                         (ties > 1 ? " among ties" : "");
        }
      }
    }
    if (queries == 0) {
      check(h.head + ": queries", false, "no query selects anything");
      return true;
    }
    if (task_.kind == TaskKind::IndexLookup && queryByToken && keyByPosition)
      check(h.head + ": targets", wrongTargets == 0,
            wrongTargets ? firstWrong + " (and " +
                               std::to_string(wrongTargets - 1) + " more)"
                         : "every IDX_p's best key is position p, alone");
    // Rounding left once the stored weights are exact: the residual sum (if
    // both tables write a column Q or K reads), the projection's fp32 sum and
    // its storage, the dot product and the stored score.
    bool mixed = false;
    for (int64_t c = 0; c < net_.width; ++c)
      if ((Q.col(c).cwiseAbs().maxCoeff() > 0 ||
           K.col(c).cwiseAbs().maxCoeff() > 0) &&
          T.col(c).cwiseAbs().maxCoeff() > 0 &&
          P.col(c).cwiseAbs().maxCoeff() > 0)
        mixed = true;
    const double entry = std::pow(1 + r_.us, mixed ? 2 : 1) *
                         (1 + gammaOf(double(net_.width), r_.ua));
    const double kappa =
        entry * entry * (1 + gammaOf(double(Q.rows()), r_.ua)) * (1 + r_.us) -
        1;
    // This measurement's own double sums: within D 2^-53 of |q||k| each.
    const double measured = 2 * gammaOf(double(net_.width), 0x1p-53) * absDot;
    const double E = kappa * absDot + measured;
    const double G = gap - 2 * E;
    const ChainEnd end = chainEnd(G, double(h.competitors), h.leakage, r_);
    check(h.head + ": rounding chain (measured over " +
              std::to_string(queries) + " queries x " +
              std::to_string(Ks.rows()) + " keys)",
          end.holds,
          "stored logit gap " + num(gap) +
              " (certificate: scale x gap = " + num(h.storedScale * h.gap) +
              "), |q||k| <= " + num(absDot) + ", score error <= " + num(E) +
              "; " + chainText(G, end, h.leakage));
    // A copy head's read-out is its output: the certificate's margin must
    // not exceed what the chain delivers.
    if ((task_.kind == TaskKind::IndexLookup ||
         task_.kind == TaskKind::AssociativeRecall) &&
        net_.certificate.heads.size() == 1) {
      const double margin = 1 - 2 * std::max(1 - end.w, end.leak);
      check("read-out margin", margin >= net_.certificate.readoutMargin - 1e-9,
            "the chain gives >= " + num(margin) + "; the certificate claims " +
                num(net_.certificate.readoutMargin));
    }
    return true;
  }

  // Fractional bits x needs (x = m 2^-f, m an integer); -1 past 64.
  static int fractionBits(double x) {
    for (int f = 0; f <= 64; ++f) {
      const double y = std::ldexp(x, f);
      if (y == std::floor(y))
        return f;
    }
    return -1;
  }

  void checkElmanGrid() {
    const ElmanBody &e = net_.elman();
    int bits = 0;
    bool dyadic = true;
    auto see = [&](double x) {
      const int f = fractionBits(storedAs(float(x), net_.precision));
      if (f < 0)
        dyadic = false;
      bits = std::max(bits, f);
    };
    const int64_t H = e.bias.size();
    std::vector<double> row(H, 0), input(H, 0);
    for (int64_t k = 0; k < e.recurrent.outerSize(); ++k)
      for (SparseMatrix::InnerIterator it(e.recurrent, k); it; ++it) {
        see(it.value());
        row[it.row()] +=
            std::fabs(double(storedAs(it.value(), net_.precision)));
      }
    for (int64_t k = 0; k < e.input.outerSize(); ++k)
      for (SparseMatrix::InnerIterator it(e.input, k); it; ++it) {
        see(it.value());
        input[it.row()] =
            std::max(input[it.row()],
                     std::fabs(double(storedAs(it.value(), net_.precision))));
      }
    double B = 0;
    for (int64_t i = 0; i < H; ++i) {
      see(e.bias[i]);
      B = std::max(B,
                   row[i] + input[i] +
                       std::fabs(double(storedAs(e.bias[i], net_.precision))));
    }
    bool binary = true;
    for (int64_t i = 0; i < e.initial.size(); ++i)
      binary &= e.initial[i] == 0 || e.initial[i] == 1;
    check("rnn: initial state", binary,
          binary ? "every unit 0 or 1" : "a unit is neither 0 nor 1");
    if (!dyadic) {
      check("rnn: grid", false,
            "a weight is not a dyadic rational of at most 64 fraction bits");
      return;
    }
    // With states in {0, 1} (the construction's invariant, checked by
    // `eval`), every pre-activation is a multiple of 2^-bits of size <= B:
    // exact when B 2^bits < 2^p.
    const double steps = std::ldexp(B, bits);
    check("rnn: grid", steps < std::ldexp(1.0, r_.significand),
          "pre-activations are multiples of 2^-" + std::to_string(bits) +
              " of size <= " + num(B) + ": " + num(steps) +
              " steps, the format resolves " +
              num(std::ldexp(1.0, r_.significand)));
    if (!e.head.empty())
      check("rnn: read-out head", true,
            std::to_string(e.head.size()) +
                " ReLU layers on the final state: as declared (not re-derived)",
            false);
  }

  const TaskSpec &task_;
  const Network &net_;
  Rounding r_;
  CertificateReport report_;
};

} // namespace

bool CertificateReport::ok() const {
  return std::all_of(checks.begin(), checks.end(),
                     [](const CertificateCheck &c) { return c.ok; });
}

CertificateReport checkCertificate(const TaskSpec &task, const Network &net) {
  return Checker(task, net).run();
}

} // namespace handwire
