// Audit: the pruner against a brute-force statement of DESIGN §5 on weights full of ties —
// integer magnitudes, so norms are exact and every tie is a true tie — for unstructured, rows
// (L1, L2), blocks and 2:4, per tensor and global, sparsity 0 and 1, and sequences that raise
// and lower the sparsity (masked weights rank below every kept one; equal scores are pruned in
// registration order, then index order).
#include <pare/prune.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"

namespace pp = pare::prune;

namespace {

struct tensor_spec {
  std::int64_t rows, cols;
};

// Weights with values in {−3, …, 3}: lots of ties, zeros included.
std::vector<std::vector<double>> tied_weights(const std::vector<tensor_spec>& specs, std::uint64_t seed) {
  std::vector<std::vector<double>> out;
  for (const auto& s : specs) {
    std::vector<double> w(static_cast<std::size_t>(s.rows * s.cols));
    for (auto& x : w) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      x = static_cast<double>(static_cast<int>((seed >> 33) % 7) - 3);
    }
    out.push_back(std::move(w));
  }
  return out;
}

// One pruning unit of the oracle: its tensor, its elements, its score.
struct unit {
  std::size_t tensor;
  std::vector<std::int64_t> elements;
  double score;
};

// The units of one tensor for a structure: elements, rows (Lp norm of |w|) or R×C blocks (L2).
std::vector<unit> units_of(std::size_t t, const std::vector<double>& w, const tensor_spec& s, int kind, int p,
                           int br, int bc) {
  std::vector<unit> u;
  if (kind == 0) {
    for (std::int64_t i = 0; i < s.rows * s.cols; ++i) u.push_back({t, {i}, std::abs(w[static_cast<std::size_t>(i)])});
  } else if (kind == 1) {
    for (std::int64_t r = 0; r < s.rows; ++r) {
      unit x{t, {}, 0};
      double acc = 0;
      for (std::int64_t c = 0; c < s.cols; ++c) {
        x.elements.push_back(r * s.cols + c);
        acc += std::pow(std::abs(w[static_cast<std::size_t>(r * s.cols + c)]), p);
      }
      x.score = std::pow(acc, 1.0 / p);
      u.push_back(x);
    }
  } else {
    for (std::int64_t r0 = 0; r0 < s.rows; r0 += br)
      for (std::int64_t c0 = 0; c0 < s.cols; c0 += bc) {
        unit x{t, {}, 0};
        double acc = 0;
        for (std::int64_t r = r0; r < r0 + br; ++r)
          for (std::int64_t c = c0; c < c0 + bc; ++c) {
            x.elements.push_back(r * s.cols + c);
            acc += w[static_cast<std::size_t>(r * s.cols + c)] * w[static_cast<std::size_t>(r * s.cols + c)];
          }
        x.score = std::sqrt(acc);
        u.push_back(x);
      }
  }
  return u;
}

// DESIGN §5: in each scope, prune exactly round(s·n) units, the lowest first; units already
// masked rank below all others; ties (and the masked units among themselves) by position.
void oracle_prune(std::vector<unit>& units, std::vector<std::vector<std::uint8_t>>& masks, double s) {
  std::vector<std::size_t> order(units.size());
  std::iota(order.begin(), order.end(), 0);
  auto masked = [&](const unit& u) { return masks[u.tensor][static_cast<std::size_t>(u.elements[0])] == 0; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool ma = masked(units[a]), mb = masked(units[b]);
    if (ma != mb) return ma;
    if (ma) return false;  // both masked: position order (stable)
    return units[a].score < units[b].score;
  });
  const auto k = static_cast<std::size_t>(prune_test::python_round(s * static_cast<double>(units.size())));
  for (std::size_t i = 0; i < order.size(); ++i)
    for (auto e : units[order[i]].elements) masks[units[order[i]].tensor][static_cast<std::size_t>(e)] = i < k ? 0 : 1;
}

template <class Structure>
void audit_structure(int kind, int p, int br, int bc) {
  const std::vector<tensor_spec> specs{{4, 6}, {6, 6}, {2, 12}, {8, 3 * (bc == 3 ? 1 : 2)}};
  const std::vector<std::vector<double>> sequences{{0.0}, {1.0}, {0.5}, {0.3, 0.3},       {0.2, 0.6, 0.6},
                                                   {0.8, 0.4}, {0.9, 0.0, 0.25}, {1.0, 0.5}, {0.33, 0.77, 1.0}};
  for (pp::scope scope : {pp::scope::per_tensor, pp::scope::global}) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      for (const auto& seq : sequences) {
        auto values = tied_weights(specs, seed);
        std::vector<std::vector<float>> w;
        for (const auto& v : values) w.emplace_back(v.begin(), v.end());
        pp::pruner<float, pp::magnitude, Structure> pr({.scope = scope});
        for (std::size_t t = 0; t < specs.size(); ++t)
          pr.add(pare::tensor_view<float>(w[t].data(), {specs[t].rows, specs[t].cols}));
        std::vector<std::vector<std::uint8_t>> masks;
        for (const auto& v : values) masks.emplace_back(v.size(), std::uint8_t{1});
        for (double s : seq) {
          pr.prune_to(s);
          // the oracle scores the weights as they are now (pruned ones are already zero)
          for (std::size_t t = 0; t < specs.size(); ++t)
            for (std::size_t i = 0; i < values[t].size(); ++i) values[t][i] = w[t][i];
          if (scope == pp::scope::global) {
            std::vector<unit> all;
            for (std::size_t t = 0; t < specs.size(); ++t) {
              auto u = units_of(t, values[t], specs[t], kind, p, br, bc);
              all.insert(all.end(), u.begin(), u.end());
            }
            oracle_prune(all, masks, s);
          } else {
            for (std::size_t t = 0; t < specs.size(); ++t) {
              auto u = units_of(t, values[t], specs[t], kind, p, br, bc);
              oracle_prune(u, masks, s);
            }
          }
          for (std::size_t t = 0; t < specs.size(); ++t) {
            const auto m = pr.mask(t);
            for (std::size_t i = 0; i < masks[t].size(); ++i) {
              INFO("kind " << kind << " scope " << static_cast<int>(scope) << " seed " << seed << " sparsity " << s
                           << " tensor " << t << " element " << i);
              REQUIRE(m[static_cast<std::int64_t>(i)] == masks[t][i]);
              if (masks[t][i] == 0) REQUIRE(w[t][i] == 0.0f);
            }
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("audit: unstructured pruning with ties, per tensor and global, raising and lowering", "[prune][audit]") {
  audit_structure<pp::unstructured>(0, 0, 0, 0);
}

TEST_CASE("audit: row pruning (L1 and L2) with ties, per tensor and global", "[prune][audit]") {
  audit_structure<pp::rows<1>>(1, 1, 0, 0);
  audit_structure<pp::rows<2>>(1, 2, 0, 0);
}

TEST_CASE("audit: block pruning with ties, per tensor and global", "[prune][audit]") {
  audit_structure<pp::blocks<2, 3>>(2, 0, 2, 3);
}

TEST_CASE("audit: 2:4 keeps the two largest of every four, the higher index among ties", "[prune][audit]") {
  for (std::uint64_t seed : {5u, 6u, 7u}) {
    const auto values = tied_weights({{6, 8}}, seed);
    std::vector<float> w(values[0].begin(), values[0].end());
    pp::pruner<float, pp::magnitude, pp::n_of_m<2, 4>> pr;
    pr.add(pare::tensor_view<float>(w.data(), {6, 8}));
    pr.prune_to(0.5);
    for (std::size_t g = 0; g < values[0].size(); g += 4) {
      std::vector<std::size_t> idx{g, g + 1, g + 2, g + 3};
      std::stable_sort(idx.begin(), idx.end(),
                       [&](std::size_t a, std::size_t b) { return std::abs(values[0][a]) < std::abs(values[0][b]); });
      for (int j = 0; j < 4; ++j) {
        INFO("seed " << seed << " group " << g / 4 << " position " << idx[static_cast<std::size_t>(j)]);
        CHECK(pr.mask(0)[static_cast<std::int64_t>(idx[static_cast<std::size_t>(j)])] == (j < 2 ? 0 : 1));
      }
    }
    pr.prune_to(0.0);
    for (std::int64_t i = 0; i < 48; ++i) CHECK(pr.mask(0)[i] == 1);
  }
}
