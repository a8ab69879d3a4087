// pare::prune::pruner: exact counts per scope and structure, PyTorch's masks, ties by position,
// idempotence, iterative pruning, masks that stay valid, and every error path.
#include <pare/prune/pruner.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "support/catch.hpp"
#include "support/numeric.hpp"
#include "support/reference.hpp"

namespace pp = pare::prune;
using pare::tensor_view;

namespace {

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

using prune_test::lowest_pruned;
using prune_test::mask_values;
using prune_test::masked;
using prune_test::python_round;

std::vector<bool> pruned_of(tensor_view<const std::uint8_t> m) {
  std::vector<bool> out(static_cast<std::size_t>(m.size()));
  for (std::int64_t i = 0; i < m.size(); ++i) out[static_cast<std::size_t>(i)] = m[i] == 0;
  return out;
}

std::vector<std::int64_t> shape_of(const std::vector<double>& w, const std::string& name) {
  // the reference cases' names spell their shapes: n7, m6x5, c4x3x2x2
  std::vector<std::int64_t> s;
  std::size_t i = 1;
  while (i < name.size()) {
    std::size_t j = name.find('x', i);
    if (j == std::string::npos) j = name.size();
    s.push_back(std::stoll(name.substr(i, j - i)));
    i = j + 1;
  }
  std::int64_t n = 1;
  for (auto e : s) n *= e;
  REQUIRE(n == static_cast<std::int64_t>(w.size()));
  return s;
}

const std::vector<std::string> amounts{"0.0", "0.1", "0.25", "0.35", "0.5",
                                       "0.7", "0.9", "0.95", "1.0"};

}  // namespace

TEMPLATE_TEST_CASE("magnitude pruning masks what PyTorch's l1_unstructured masks", "", float,
                   double) {
  using T = TestType;
  const pare_test::reference ref("prune/prune.txt");
  for (const std::string name : {"n5", "n7", "m6x5", "c4x3x2x2", "n1000"}) {
    const auto w0 = ref["l1/" + name + "/w"];
    const auto shape = shape_of(w0, name);
    for (const auto& a : amounts) {
      INFO(name << " amount " << a);
      auto w = cast<T>(w0);
      pp::pruner<T> p;  // magnitude, unstructured, per tensor by default
      p.add(tensor_view<T>(w.data(), std::span<const std::int64_t>(shape)));
      p.prune_to(std::stod(a));
      const auto want = ref["l1/" + name + "/mask_" + a];
      CHECK(mask_values(p.mask(0)) == want);
      for (std::size_t i = 0; i < w.size(); ++i)
        REQUIRE(w[i] == (want[i] != 0 ? static_cast<T>(w0[i]) : T(0)));
      const auto n = static_cast<double>(w.size());
      CHECK(p.sparsity(0) == static_cast<double>(python_round(std::stod(a) * n)) / n);
      CHECK(p.sparsity() == p.sparsity(0));
      CHECK(p.mask(0).rank() == static_cast<int>(shape.size()));
    }
  }
}

TEMPLATE_TEST_CASE("sensitivity pruning masks what l1_unstructured masks with scores |w*g|",
                   "", float, double) {
  using T = TestType;
  const pare_test::reference ref("prune/prune.txt");
  for (const std::string name : {"m8x6", "n9"}) {
    const auto w0 = ref["sens/" + name + "/w"];
    const auto g = cast<T>(ref["sens/" + name + "/g"]);
    const auto shape = shape_of(w0, name);
    for (const auto& a : amounts) {
      INFO(name << " amount " << a);
      auto w = cast<T>(w0);
      pp::pruner<T, pp::sensitivity> p;
      p.add(tensor_view<T>(w.data(), std::span<const std::int64_t>(shape)),
            tensor_view<const T>(g.data(), std::span<const std::int64_t>(shape)));
      p.prune_to(std::stod(a));
      CHECK(mask_values(p.mask(0)) == ref["sens/" + name + "/mask_" + a]);
    }
  }
}

TEMPLATE_TEST_CASE("global scope masks what PyTorch's global_unstructured masks", "", float,
                   double) {
  using T = TestType;
  const pare_test::reference ref("prune/prune.txt");
  for (const auto& a : amounts) {
    INFO("amount " << a);
    auto w0 = cast<T>(ref["global/t0/w"]);
    auto w1 = cast<T>(ref["global/t1/w"]);
    auto w2 = cast<T>(ref["global/t2/w"]);
    pp::pruner<T> p({.scope = pp::scope::global});
    CHECK(p.add(tensor_view<T>(w0.data(), {10, 8})) == 0);
    CHECK(p.add(tensor_view<T>(w1.data(), {7})) == 1);
    CHECK(p.add(tensor_view<T>(w2.data(), {3, 4, 5})) == 2);
    p.prune_to(std::stod(a));
    std::int64_t total = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(mask_values(p.mask(i)) == ref["global/t" + std::to_string(i) + "/mask_" + a]);
      total += p.pruned(i);
    }
    CHECK(total == python_round(std::stod(a) * 147));
    CHECK(p.sparsity() == pare_test::Approx(static_cast<double>(total) / 147));
  }
}

TEMPLATE_TEST_CASE("rows<P> masks what PyTorch's ln_structured(n = P, dim = 0) masks", "",
                   float, double) {
  using T = TestType;
  const pare_test::reference ref("prune/prune.txt");
  for (const std::string name : {"m10x6", "c6x3x2x2", "m5x7"}) {
    for (const auto& a : amounts) {
      INFO(name << " amount " << a);
      const auto w1 = ref["ln1/" + name + "/w"], w2 = ref["ln2/" + name + "/w"];
      const auto shape = shape_of(w1, name);
      auto v1 = cast<T>(w1);
      auto v2 = cast<T>(w2);
      pp::pruner<T, pp::magnitude, pp::rows<1>> p1;
      pp::pruner<T, pp::magnitude, pp::rows<>> p2;  // P = 2 by default
      p1.add(tensor_view<T>(v1.data(), std::span<const std::int64_t>(shape)));
      p2.add(tensor_view<T>(v2.data(), std::span<const std::int64_t>(shape)));
      p1.prune_to(std::stod(a));
      p2.prune_to(std::stod(a));
      CHECK(mask_values(p1.mask(0)) == ref["ln1/" + name + "/mask_" + a]);
      CHECK(mask_values(p2.mask(0)) == ref["ln2/" + name + "/mask_" + a]);
      CHECK(masked(p1.mask(0)) ==
            python_round(std::stod(a) * static_cast<double>(shape[0])) *
                static_cast<std::int64_t>(v1.size()) / shape[0]);
    }
  }
}

TEMPLATE_TEST_CASE("raising the sparsity prunes the lowest survivors, as PyTorch's iterative "
                   "pruning does", "", float, double) {
  using T = TestType;
  const pare_test::reference ref("prune/prune.txt");
  for (const std::string name : {"n5", "n7", "m6x5", "c4x3x2x2", "n1000"}) {
    for (auto [a, b] : {std::pair{0.5, 0.5}, {0.3, 0.6}, {0.25, 0.25}}) {
      const auto w0 = ref["l1/" + name + "/w"];
      auto w = cast<T>(w0);
      const auto n = static_cast<std::int64_t>(w.size());
      pp::pruner<T> p;
      p.add(tensor_view<T>(w.data(), {n}));
      const std::int64_t first = python_round(a * static_cast<double>(n));
      const std::int64_t second = python_round(b * static_cast<double>(n - first));
      p.prune_to(a);
      // PyTorch's second amount counts survivors; pare's sparsity counts all weights
      p.prune_to(static_cast<double>(first + second) / static_cast<double>(n));
      std::string key = "iter/" + name + "/mask_";
      key += (a == 0.5 ? "0.5" : a == 0.3 ? "0.3" : "0.25");
      key += (b == 0.5 ? "_0.5" : b == 0.6 ? "_0.6" : "_0.25");
      INFO(key);
      CHECK(mask_values(p.mask(0)) == ref[key]);
    }
  }
}

TEMPLATE_TEST_CASE("every structure and scope masks exactly round(s*n) weights or groups", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 7;
  INFO("seed " << seed);
  const std::vector<std::vector<std::int64_t>> shapes{{12, 8}, {4, 16}, {8, 4, 2}, {20, 4}};
  for (double s : {0.0, 0.05, 0.125, 0.3, 0.5, 0.625, 0.77, 0.9, 0.99, 1.0}) {
    INFO("sparsity " << s);
    for (auto sc : {pp::scope::per_tensor, pp::scope::global}) {
      INFO("global " << (sc == pp::scope::global));
      std::vector<std::vector<T>> data;
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        std::int64_t n = 1;
        for (auto e : shapes[i]) n *= e;
        data.push_back(pare_test::random_normal<T>(static_cast<std::size_t>(n), seed + i));
      }
      auto run = [&](auto p, std::int64_t group_size, auto groups_of) {
        auto d = data;
        for (std::size_t i = 0; i < d.size(); ++i)
          p.add(tensor_view<T>(d[i].data(), std::span<const std::int64_t>(shapes[i])));
        p.prune_to(s);
        std::int64_t total_groups = 0, total_masked = 0;
        for (std::size_t i = 0; i < d.size(); ++i) {
          const std::int64_t g = groups_of(shapes[i]);
          const std::int64_t m = masked(p.mask(i));
          REQUIRE(m % group_size == 0);
          if (sc == pp::scope::per_tensor)
            CHECK(m / group_size == python_round(s * static_cast<double>(g)));
          CHECK(p.pruned(i) == m);
          total_groups += g;
          total_masked += m;
        }
        if (sc == pp::scope::global)
          CHECK(total_masked / group_size == python_round(s * static_cast<double>(total_groups)));
      };
      const auto size = [](const std::vector<std::int64_t>& sh) {
        return std::accumulate(sh.begin(), sh.end(), std::int64_t{1}, std::multiplies<>());
      };
      run(pp::pruner<T, pp::magnitude, pp::unstructured>({.scope = sc}), 1, size);
      run(pp::pruner<T, pp::random, pp::unstructured>({.scope = sc, .criterion = {.seed = 3}}), 1,
          size);
      // rows: whole rows, round(s·rows)
      {
        pp::pruner<T, pp::magnitude, pp::rows<1>> p({.scope = sc});
        auto d = data;
        std::int64_t rows = 0, masked_rows = 0;
        for (std::size_t i = 0; i < d.size(); ++i)
          p.add(tensor_view<T>(d[i].data(), std::span<const std::int64_t>(shapes[i])));
        p.prune_to(s);
        for (std::size_t i = 0; i < d.size(); ++i) {
          const auto m = p.mask(i);
          const std::int64_t cols = m.size() / shapes[i][0];
          std::int64_t here = 0;
          for (std::int64_t r = 0; r < shapes[i][0]; ++r) {
            std::int64_t z = 0;
            for (std::int64_t c = 0; c < cols; ++c) z += m[r * cols + c] == 0;
            REQUIRE((z == 0 || z == cols));
            here += z == cols;
          }
          if (sc == pp::scope::per_tensor)
            CHECK(here == python_round(s * static_cast<double>(shapes[i][0])));
          rows += shapes[i][0];
          masked_rows += here;
        }
        if (sc == pp::scope::global)
          CHECK(masked_rows == python_round(s * static_cast<double>(rows)));
      }
      // blocks of 2×4 on the [rows, cols] view
      run(pp::pruner<T, pp::magnitude, pp::blocks<2, 4>>({.scope = sc}), 8,
          [&](const std::vector<std::int64_t>& sh) { return size(sh) / 8; });
    }
  }
}

TEMPLATE_TEST_CASE("the masked set is exactly the lowest-scoring set, for every criterion", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 11;
  INFO("seed " << seed);
  auto w1 = pare_test::random_normal<T>(300, seed);
  auto w2 = pare_test::random_normal<T>(120, seed + 1, 0, 3);
  const auto g1 = pare_test::random_normal<T>(300, seed + 2);
  const auto g2 = pare_test::random_normal<T>(120, seed + 3);
  const auto h1 = pare_test::random_uniform<T>(300, seed + 4, 0.1, 2);
  const auto h2 = pare_test::random_uniform<T>(120, seed + 5, 0.1, 2);

  auto check = [&](auto p, bool with_g, bool with_h, bool steps) {
    for (auto sc : {pp::scope::per_tensor, pp::scope::global}) {
      INFO("global " << (sc == pp::scope::global));
      auto a = w1, b = w2;
      decltype(p) q({.scope = sc, .criterion = p.options().criterion});
      const T* aux1 = with_g ? g1.data() : with_h ? h1.data() : nullptr;
      const T* aux2 = with_g ? g2.data() : with_h ? h2.data() : nullptr;
      q.add(tensor_view<T>(a.data(), {20, 15}), tensor_view<const T>(aux1, {aux1 ? 20 : 0, 15}));
      q.add(tensor_view<T>(b.data(), {120}), tensor_view<const T>(aux2, {aux2 ? 120 : 0}));
      if (!aux1) {  // a criterion without a second input: register again without it
        a = w1;
        b = w2;
        q = decltype(p)({.scope = sc, .criterion = p.options().criterion});
        q.add(tensor_view<T>(a.data(), {20, 15}));
        q.add(tensor_view<T>(b.data(), {120}));
      }
      if (steps) {
        q.accumulate();
        // a second step with other weights and gradients, so the sums are not one product
        for (auto& x : a) x *= T(0.5);
        q.accumulate();
      }
      std::vector<T> s1(300), s2(120);
      q.score(0, tensor_view<T>(s1.data(), {20, 15}));
      q.score(1, tensor_view<T>(s2.data(), {120}));
      q.prune_to(0.4);
      const auto m1 = q.mask(0), m2 = q.mask(1);
      if (sc == pp::scope::per_tensor) {
        CHECK(masked(m1) == 120);
        CHECK(masked(m2) == 48);
        CHECK(lowest_pruned(s1, pruned_of(m1)));
        CHECK(lowest_pruned(s2, pruned_of(m2)));
      } else {
        CHECK(masked(m1) + masked(m2) == 168);
        auto all = s1;
        all.insert(all.end(), s2.begin(), s2.end());
        auto pruned = pruned_of(m1);
        const auto p2 = pruned_of(m2);
        pruned.insert(pruned.end(), p2.begin(), p2.end());
        CHECK(lowest_pruned(all, pruned));
      }
    }
  };
  SECTION("magnitude") { check(pp::pruner<T, pp::magnitude>(), false, false, false); }
  SECTION("sensitivity") { check(pp::pruner<T, pp::sensitivity>(), true, false, false); }
  SECTION("hessian, given") { check(pp::pruner<T, pp::hessian>(), false, true, false); }
  SECTION("hessian, estimated") {
    check(pp::pruner<T, pp::hessian>({.criterion = {.estimate = true}}), true, false, true);
  }
  SECTION("movement") { check(pp::pruner<T, pp::movement>(), true, false, true); }
  SECTION("random") { check(pp::pruner<T, pp::random>({.criterion = {.seed = 5}}), false, false, false); }
}

TEMPLATE_TEST_CASE("equal scores are pruned in order of position: earlier tensor, lower index",
                   "", float, double) {
  using T = TestType;
  std::vector<T> a(10, T(1)), b(10, T(-1));
  pp::pruner<T> p({.scope = pp::scope::global});
  p.add(tensor_view<T>(a.data(), {10}));
  p.add(tensor_view<T>(b.data(), {2, 5}));
  p.prune_to(0.65);  // 13 of 20
  for (std::int64_t i = 0; i < 10; ++i) CHECK(p.mask(0)[i] == 0);
  for (std::int64_t i = 0; i < 10; ++i) CHECK(p.mask(1)[i] == (i < 3 ? 0 : 1));

  std::vector<T> c(16, T(2));
  pp::pruner<T, pp::magnitude, pp::n_of_m<1, 4>> q;
  q.add(tensor_view<T>(c.data(), {2, 8}));
  q.prune_to(0.75);
  for (std::int64_t i = 0; i < 16; ++i) CHECK(q.mask(0)[i] == (i % 4 == 3 ? 1 : 0));

  std::vector<T> d(24, T(1));
  pp::pruner<T, pp::magnitude, pp::blocks<2, 2>> r;
  r.add(tensor_view<T>(d.data(), {4, 6}));
  r.prune_to(0.5);  // 3 of 6 blocks: the first three in row-major block order
  for (std::int64_t i = 0; i < 24; ++i) {
    const std::int64_t block = (i / 6) / 2 * 3 + (i % 6) / 2;
    CHECK(r.mask(0)[i] == (block < 3 ? 0 : 1));
  }
}

TEMPLATE_TEST_CASE("pruning twice to the same sparsity changes nothing", "", float, double) {
  using T = TestType;
  const std::uint64_t seed = 21;
  INFO("seed " << seed);
  auto same_twice = [&](auto p, double s) {
    auto a = pare_test::random_normal<T>(64, seed);
    auto b = pare_test::random_normal<T>(32, seed + 1);
    // exact zeros among the weights: after pruning they tie with the pruned ones
    a[5] = a[40] = b[3] = T(0);
    p.add(tensor_view<T>(a.data(), {8, 8}));
    p.add(tensor_view<T>(b.data(), {4, 8}));
    p.prune_to(s);
    const auto a1 = a, b1 = b;
    const auto m1 = mask_values(p.mask(0)), m2 = mask_values(p.mask(1));
    p.prune_to(s);
    CHECK(a == a1);
    CHECK(b == b1);
    CHECK(mask_values(p.mask(0)) == m1);
    CHECK(mask_values(p.mask(1)) == m2);
  };
  for (auto sc : {pp::scope::per_tensor, pp::scope::global}) {
    for (double s : {0.3, 0.5, 0.9}) {
      same_twice(pp::pruner<T>({.scope = sc}), s);
      same_twice(pp::pruner<T, pp::magnitude, pp::rows<2>>({.scope = sc}), s);
      same_twice(pp::pruner<T, pp::magnitude, pp::blocks<2, 2>>({.scope = sc}), s);
      same_twice(pp::pruner<T, pp::random>({.scope = sc}), s);
    }
    same_twice(pp::pruner<T, pp::magnitude, pp::n_of_m<2, 4>>({.scope = sc}), 0.5);
  }
}

TEMPLATE_TEST_CASE("global thresholds prune the layer with smaller scores more", "", float,
                   double) {
  using T = TestType;
  const std::uint64_t seed = 5;
  INFO("seed " << seed);
  const auto small = pare_test::random_uniform<T>(100, seed, -0.1, 0.1);
  auto large = pare_test::random_uniform<T>(100, seed + 1, 0.5, 1.5);
  for (std::size_t i = 0; i < large.size(); i += 2) large[i] = -large[i];
  auto a = small, b = large;
  pp::pruner<T> per;
  per.add(tensor_view<T>(a.data(), {100}));
  per.add(tensor_view<T>(b.data(), {100}));
  per.prune_to(0.5);
  CHECK(per.sparsity(0) == 0.5);
  CHECK(per.sparsity(1) == 0.5);

  auto c = small, d = large;
  pp::pruner<T> global({.scope = pp::scope::global});
  global.add(tensor_view<T>(c.data(), {100}));
  global.add(tensor_view<T>(d.data(), {100}));
  global.prune_to(0.5);
  CHECK(global.sparsity() == 0.5);
  CHECK(global.sparsity(0) == 1.0);  // every |small| < 0.1 < every |large|: all go first
  CHECK(global.sparsity(1) == 0.0);
  // the threshold is one number: every kept |w| is above every pruned |w|, across layers
  std::vector<T> magnitudes;
  for (auto x : small) magnitudes.push_back(std::abs(x));
  for (auto x : large) magnitudes.push_back(std::abs(x));
  auto pruned = pruned_of(global.mask(0));
  const auto p1 = pruned_of(global.mask(1));
  pruned.insert(pruned.end(), p1.begin(), p1.end());
  CHECK(lowest_pruned(magnitudes, pruned));
}

TEMPLATE_TEST_CASE("n_of_m keeps exactly the N largest of every M along the last axis", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 31;
  INFO("seed " << seed);
  auto check = [&](auto p, int n, int m, std::vector<std::int64_t> shape) {
    const std::int64_t size =
        std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    const auto w0 = pare_test::random_normal<T>(static_cast<std::size_t>(size), seed);
    auto w = w0;
    p.add(tensor_view<T>(w.data(), std::span<const std::int64_t>(shape)));
    p.prune_to(1.0 - static_cast<double>(n) / m);
    const auto mask = p.mask(0);
    for (std::int64_t g = 0; g < size / m; ++g) {
      int kept = 0;
      T min_kept = std::numeric_limits<T>::infinity(), max_cut = 0;
      for (int j = 0; j < m; ++j) {
        const std::int64_t i = g * m + j;
        if (mask[i]) {
          ++kept;
          min_kept = std::min(min_kept, std::abs(w0[static_cast<std::size_t>(i)]));
          REQUIRE(w[static_cast<std::size_t>(i)] == w0[static_cast<std::size_t>(i)]);
        } else {
          max_cut = std::max(max_cut, std::abs(w0[static_cast<std::size_t>(i)]));
          REQUIRE(w[static_cast<std::size_t>(i)] == T(0));
        }
      }
      REQUIRE(kept == n);
      if (n < m && n > 0) REQUIRE(max_cut < min_kept);
    }
    CHECK(p.sparsity() == pare_test::Approx(1.0 - static_cast<double>(n) / m));
    // sparsity 0 unmasks everything
    p.prune_to(0.0);
    CHECK(masked(p.mask(0)) == 0);
  };
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<2, 4>>(), 2, 4, {16, 32});
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<2, 4>>({.scope = pp::scope::global}), 2, 4,
        {3, 5, 8});
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<1, 4>>(), 1, 4, {6, 12});
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<4, 8>>(), 4, 8, {64});
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<3, 3>>(), 3, 3, {5, 9});
  check(pp::pruner<T, pp::magnitude, pp::n_of_m<0, 2>>(), 0, 2, {4, 2});
}

TEMPLATE_TEST_CASE("blocks prune whole R x C tiles with the lowest L2 norms", "", float,
                   double) {
  using T = TestType;
  const std::uint64_t seed = 41;
  INFO("seed " << seed);
  const auto w0 = pare_test::random_normal<T>(8 * 12, seed);
  auto w = w0;
  pp::pruner<T, pp::magnitude, pp::blocks<2, 3>> p;
  p.add(tensor_view<T>(w.data(), {8, 12}));
  p.prune_to(0.4);  // round(0.4·16) = 6 of 16 blocks
  std::vector<double> norm(16, 0.0);
  std::vector<int> pruned(16, -1);
  for (std::int64_t r = 0; r < 8; ++r)
    for (std::int64_t c = 0; c < 12; ++c) {
      const auto b = static_cast<std::size_t>(r / 2 * 4 + c / 3);
      const double x = static_cast<double>(w0[static_cast<std::size_t>(r * 12 + c)]);
      norm[b] += x * x;
      const int m = p.mask(0)[r * 12 + c];
      REQUIRE((pruned[b] == -1 || pruned[b] == (m == 0)));
      pruned[b] = m == 0;
    }
  CHECK(std::count(pruned.begin(), pruned.end(), 1) == 6);
  CHECK(lowest_pruned(norm, std::vector<bool>(pruned.begin(), pruned.end())));
}

TEMPLATE_TEST_CASE("apply() re-zeroes masked weights after an update that ignored the mask", "",
                   float, double) {
  using T = TestType;
  const std::uint64_t seed = 51;
  INFO("seed " << seed);
  auto w = pare_test::random_normal<T>(40000, seed);
  const auto g = pare_test::random_normal<T>(40000, seed + 1);
  pp::pruner<T> p;
  p.add(tensor_view<T>(w.data(), {200, 200}));
  p.prune_to(0.8);
  const auto mask = p.mask(0);
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= T(0.1) * g[i];  // an SGD step
    const auto before = w;
    p.apply();
    for (std::size_t i = 0; i < w.size(); ++i) {
      const auto m = mask[static_cast<std::int64_t>(i)];
      REQUIRE(w[i] == (m ? before[i] : T(0)));
      if (!m) REQUIRE(!std::signbit(w[i]));  // exactly +0
    }
  }
  CHECK(p.sparsity() == 0.8);
}

TEMPLATE_TEST_CASE("lowering the sparsity unmasks the higher positions first; reset() forgets",
                   "", float, double) {
  using T = TestType;
  std::vector<T> w{T(0.1), T(0.9), T(0.2), T(0.8), T(0.3), T(0.7), T(0.4), T(0.6)};
  pp::pruner<T> p;
  p.add(tensor_view<T>(w.data(), {8}));
  p.prune_to(0.5);  // masks 0.1 0.2 0.3 0.4 → positions 0 2 4 6
  CHECK(mask_values(p.mask(0)) == std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1});
  p.prune_to(0.25);  // the masked weights tie (they rank below all others): 4 and 6 come back
  CHECK(mask_values(p.mask(0)) == std::vector<double>{0, 1, 0, 1, 1, 1, 1, 1});
  CHECK(w[4] == T(0));  // values are not restored
  p.prune_to(0.5);      // raising it again prunes the lowest survivors: the zeros at 4 and 6
  CHECK(mask_values(p.mask(0)) == std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1});
  p.reset();
  CHECK(masked(p.mask(0)) == 0);
  CHECK(p.sparsity() == 0.0);
}

TEMPLATE_TEST_CASE("NaN scores are never pruned; infinities rank by value", "", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  std::vector<T> w{nan, T(1), -inf, T(-0.5), T(2), -nan, T(0.25)};
  pp::pruner<T> p;
  p.add(tensor_view<T>(w.data(), {7}));
  p.prune_to(5.0 / 7);
  CHECK(mask_values(p.mask(0)) == std::vector<double>{1, 0, 0, 0, 0, 1, 0});
  CHECK(std::isnan(w[0]));
  CHECK(w[2] == T(0));  // -inf has |w| = inf: pruned last among the numbers
}

TEMPLATE_TEST_CASE("mask_of finds a tensor by its data; mask views outlive adds and moves", "",
                   float, double) {
  using T = TestType;
  std::vector<T> a(12, T(1)), b(6, T(2)), other(3);
  pp::pruner<T> p;
  p.add(tensor_view<T>(a.data(), {3, 4}));
  const auto ma = p.mask(0);
  CHECK(p.mask_of(a.data()).data() == ma.data());
  CHECK(p.mask_of(a.data()).rank() == 2);
  CHECK(p.mask_of(other.data()).empty());
  CHECK(p.mask_of(a.data() + 1).empty());  // a pointer into a tensor is not its start
  // many registrations after the first (storage shared by all tensors would have moved)
  p.add(tensor_view<T>(b.data(), {6}));
  std::vector<std::vector<T>> extra(30, std::vector<T>(8, T(3)));
  for (auto& e : extra) p.add(tensor_view<T>(e.data(), {8}));
  p.prune_to(0.5);
  CHECK(ma.data() == p.mask(0).data());
  CHECK(masked(ma) == 6);  // the old view sees the new mask
  pp::pruner<T> moved = std::move(p);
  CHECK(ma.data() == moved.mask(0).data());
  CHECK(moved.mask_of(b.data()).size() == 6);
  CHECK(moved.mask_of(b.data()).data() == moved.mask(1).data());
}

TEMPLATE_TEST_CASE("empty tensors take part without effect", "", float, double) {
  using T = TestType;
  std::vector<T> a{T(3), T(1), T(2), T(4)};
  pp::pruner<T> p({.scope = pp::scope::global});
  p.add(tensor_view<T>(nullptr, {0}));
  p.add(tensor_view<T>(a.data(), {4}));
  p.add(tensor_view<T>(nullptr, {0, 3}));
  p.prune_to(0.5);
  CHECK(mask_values(p.mask(1)) == std::vector<double>{1, 0, 0, 1});
  CHECK(p.sparsity(0) == 0.0);
  CHECK(p.sparsity() == 0.5);
  pp::pruner<T> none;
  none.prune_to(0.7);
  CHECK(none.sparsity() == 0.0);
}

TEST_CASE("pruner errors name the component, the argument and the value") {
  std::vector<float> w(24, 1.0f), g(24, 1.0f), g_bad(12, 1.0f);
  pare::tensor_view<float> wv(w.data(), {4, 6});

  pp::pruner<float> p;
  p.add(wv);
  PARE_REQUIRE_ERROR(p.prune_to(1.5), "pare::prune::pruner", "sparsity", "[0, 1]", "got 1.5");
  PARE_REQUIRE_ERROR(p.prune_to(-0.1), "pare::prune::pruner", "sparsity", "got -0.1");
  PARE_REQUIRE_ERROR(p.prune_to(std::nan("")), "pare::prune::pruner", "sparsity", "got nan");
  PARE_REQUIRE_ERROR(p.add(wv), "pare::prune::pruner", "w", "not registered", "tensor 0");
  PARE_REQUIRE_ERROR((void)p.mask(1), "pare::prune::pruner", "i", "(1)", "got 1");
  PARE_REQUIRE_ERROR((void)p.sparsity(3), "pare::prune::pruner", "i", "got 3");
  CHECK(p.sparsity() == 0.0);  // nothing half-applied

  // gradient-based criteria without gradients
  pp::pruner<float, pp::sensitivity> s;
  PARE_REQUIRE_ERROR(s.add(wv), "pare::prune::pruner", "gradient", "add(w, gradient)", "none");
  pp::pruner<float, pp::movement> mv;
  PARE_REQUIRE_ERROR(mv.add(wv), "pare::prune::pruner", "gradient", "got none");
  pp::pruner<float, pp::hessian> h;
  PARE_REQUIRE_ERROR(h.add(wv), "pare::prune::pruner", "hessian", "got none");
  pp::pruner<float, pp::hessian> he({.criterion = {.estimate = true}});
  PARE_REQUIRE_ERROR(he.add(wv), "pare::prune::pruner", "gradient", "got none");
  PARE_REQUIRE_ERROR(s.add(wv, pare::tensor_view<const float>(g_bad.data(), {2, 6})),
                     "pare::prune::pruner", "aux", "[4, 6]", "[2, 6]");
  CHECK(s.size() == 0);
  // accumulating criteria need at least one accumulate() before scores mean anything
  mv.add(wv, pare::tensor_view<const float>(g.data(), {4, 6}));
  PARE_REQUIRE_ERROR(mv.prune_to(0.5), "pare::prune::pruner", "accumulate()", "got 0");
  mv.accumulate();
  mv.prune_to(0.5);
  CHECK(mv.sparsity() == 0.5);

  // structures
  using bad_nm = pp::pruner<float, pp::magnitude, pp::n_of_m<5, 4>>;
  PARE_REQUIRE_ERROR(bad_nm(), "pare::prune::n_of_m", "n", "at most m = 4", "got 5");
  using bad_m = pp::pruner<float, pp::magnitude, pp::n_of_m<0, 0>>;
  PARE_REQUIRE_ERROR(bad_m(), "pare::prune::n_of_m", "m", "got 0");
  using bad_p = pp::pruner<float, pp::magnitude, pp::rows<0>>;
  PARE_REQUIRE_ERROR(bad_p(), "pare::prune::rows", "p", "got 0");
  using bad_b = pp::pruner<float, pp::magnitude, pp::blocks<0, 2>>;
  PARE_REQUIRE_ERROR(bad_b(), "pare::prune::blocks", "r", "got 0");

  pp::pruner<float, pp::magnitude, pp::n_of_m<2, 4>> nm;
  PARE_REQUIRE_ERROR(nm.add(pare::tensor_view<float>(w.data(), {6, 4}).reshape({4, 6})),
                     "pare::prune::pruner", "last extent of w", "multiple of m = 4", "[4, 6]");
  nm.add(pare::tensor_view<float>(w.data(), {6, 4}));
  PARE_REQUIRE_ERROR(nm.prune_to(0.3), "pare::prune::pruner", "sparsity", "0.5", "got 0.3");

  pp::pruner<float, pp::magnitude, pp::rows<>> rows;
  PARE_REQUIRE_ERROR(rows.add(pare::tensor_view<float>(w.data(), {24})), "pare::prune::pruner",
                     "rank of w", "at least 2", "1 [24]");
  pp::pruner<float, pp::magnitude, pp::blocks<4, 4>> blocks;
  PARE_REQUIRE_ERROR(blocks.add(wv), "pare::prune::pruner", "shape of w", "4x4", "[4, 6]");
  PARE_REQUIRE_ERROR(blocks.add(pare::tensor_view<float>(w.data(), {24})), "pare::prune::pruner",
                     "rank of w", "1 [24]");

  PARE_REQUIRE_ERROR(pp::pruner<float>({.scope = static_cast<pp::scope>(7)}),
                     "pare::prune::pruner", "scope", "got 7");
}

TEMPLATE_TEST_CASE("a mask transform built on mask_of keeps masked weights and state at zero",
                   "", float, double) {
  using T = TestType;
  // What an optimizer's mask transform does with the pruner (the optimizer itself lives in
  // pare::optim): look the mask up by the parameter's data, zero the masked entries of the
  // update before it reaches the weights and the optimizer state.
  const std::uint64_t seed = 57;
  INFO("seed " << seed);
  auto w = pare_test::random_normal<T>(64, seed);
  auto b = pare_test::random_normal<T>(8, seed + 1);  // a bias the pruner does not hold
  std::vector<T> vw(64, T(0)), vb(8, T(0));          // momentum buffers
  pp::pruner<T> p;
  p.add(tensor_view<T>(w.data(), {8, 8}));
  p.prune_to(0.75);
  const auto step = [&](std::vector<T>& param, std::vector<T>& velocity, std::uint64_t s) {
    const auto g = pare_test::random_normal<T>(param.size(), s);
    const auto mask = p.mask_of(param.data());
    for (std::size_t i = 0; i < param.size(); ++i) {
      const bool kept = mask.empty() || mask[static_cast<std::int64_t>(i)] != 0;
      const T gi = kept ? g[i] : T(0);
      velocity[i] = kept ? T(0.9) * velocity[i] + gi : T(0);
      param[i] -= T(0.1) * velocity[i];
    }
  };
  const auto b0 = b;
  for (std::uint64_t t = 0; t < 5; ++t) {
    step(w, vw, seed + 10 + t);
    step(b, vb, seed + 20 + t);
  }
  for (std::int64_t i = 0; i < 64; ++i) {
    if (p.mask(0)[i] == 0) {
      REQUIRE(w[static_cast<std::size_t>(i)] == T(0));
      REQUIRE(vw[static_cast<std::size_t>(i)] == T(0));
    } else {
      REQUIRE(vw[static_cast<std::size_t>(i)] != T(0));
    }
  }
  CHECK(b != b0);  // an unregistered parameter trains normally (empty mask)
  CHECK(p.mask_of(b.data()).empty());
}
