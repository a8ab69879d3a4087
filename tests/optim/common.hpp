#pragma once
// Shared helpers for the pare::optim tests: the nine named optimizers as a type list, options
// filled from reference vectors, and comparisons with a per-type tolerance.
#include <pare/optim.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"

namespace optim_test {

/// Relative tolerances of the issue: double 1e-9, float 2e-4.
template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 2e-4 : 1e-9;

/// Options from a vector in the options' field order (bools as 0/1).
template <class Traits>
typename Traits::options options_from(const std::vector<double>& v) {
  typename Traits::options o{};
  REQUIRE(v.size() == std::tuple_size_v<decltype(Traits::fields)>);
  pare::optim::detail::static_for<std::tuple_size_v<decltype(Traits::fields)>>([&]<std::size_t I>() {
    auto& f = o.*std::get<I>(Traits::fields);
    f = static_cast<std::remove_cvref_t<decltype(f)>>(v[I]);
  });
  return o;
}

/// Whether two options aggregates hold the same values, field by field.
template <class Traits>
bool same_options(const typename Traits::options& a, const typename Traits::options& b) {
  bool same = true;
  pare::optim::detail::static_for<std::tuple_size_v<decltype(Traits::fields)>>([&]<std::size_t I>() {
    same = same && a.*std::get<I>(Traits::fields) == b.*std::get<I>(Traits::fields);
  });
  return same;
}

/// Group overrides from a vector in the options' field order (nan = unset).
template <class Traits>
typename Traits::group group_from(const std::vector<double>& v) {
  typename Traits::group g{};
  REQUIRE(v.size() == std::tuple_size_v<decltype(Traits::group_fields)>);
  pare::optim::detail::static_for<std::tuple_size_v<decltype(Traits::group_fields)>>([&]<std::size_t I>() {
    auto& f = g.*std::get<I>(Traits::group_fields);
    if (!std::isnan(v[I])) f = static_cast<typename std::remove_cvref_t<decltype(f)>::value_type>(v[I]);
  });
  return g;
}

/// Calls f.template operator()<Opt>() with Opt the named optimizer of index `kind` (the order
/// of tests/reference/optim/generate.py's KINDS).
template <class T, class F>
void with_kind(int kind, F&& f) {
  using namespace pare::optim;
  switch (kind) {
    case 0: f.template operator()<sgd<T>>(); break;
    case 1: f.template operator()<momentum<T>>(); break;
    case 2: f.template operator()<nag<T>>(); break;
    case 3: f.template operator()<adagrad<T>>(); break;
    case 4: f.template operator()<adadelta<T>>(); break;
    case 5: f.template operator()<adam<T>>(); break;
    case 6: f.template operator()<adamw<T>>(); break;
    case 7: f.template operator()<rmsprop<T>>(); break;
    case 8: f.template operator()<nadam<T>>(); break;
    default: FAIL("unknown optimizer kind " << kind);
  }
}

/// Calls f.template operator()<Opt>() for each of the nine named optimizers.
template <class T, class F>
void for_each_kind(F&& f) {
  for (int k = 0; k < 9; ++k) with_kind<T>(k, f);
}

/// max_i |x_i − r_i| / max(|r_i|, floor): relative error with a floor for elements near zero.
template <class T>
double relative_error(const std::vector<T>& x, const std::vector<double>& r, double floor) {
  REQUIRE(x.size() == r.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(static_cast<double>(x[i]) - r[i]) / std::max(std::abs(r[i]), floor);
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  return worst;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

/// The cases of a trajectory reference file (tests/reference/optim/*.txt): every "<name>/kind"
/// outside "golden/".
inline std::vector<std::string> reference_cases(const pare_test::reference& ref) {
  std::vector<std::string> names;
  for (const auto& k : ref.keys())
    if (k.size() > 5 && k.ends_with("/kind") && !k.starts_with("golden/")) names.push_back(k.substr(0, k.size() - 5));
  return names;
}

/// The generators' gradient, in the order torch evaluates it: g = s·a·(p − c) + n_t with
/// n_t[i] = 0.05·(((7i + 3t) mod 11) − 5), then multiplied by `scale`; exactly 0 when `zero`.
template <class T>
void reference_gradient(const std::vector<T>& p, const std::vector<T>& a, const std::vector<T>& c, double s,
                        int t, std::vector<T>& g, double scale = 1.0, bool zero = false) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (zero) {
      g[i] = T(0);
      continue;
    }
    const T n = static_cast<T>(0.05 * static_cast<double>(((7 * static_cast<int>(i) + 3 * t) % 11) - 5));
    const T sa = static_cast<T>(s) * a[i];
    const T d = p[i] - c[i];
    const T prod = sa * d;
    g[i] = static_cast<T>(scale) * (prod + n);
  }
}

/// Checks W and b against "<name>/<float|double>/<W|b>/step_<step>" when the file records that
/// step (relative error with a floor of 1% of the largest reference value); returns the worst
/// error, 0 when the step is not recorded.
template <class T>
double check_reference_step(const pare_test::reference& ref, const std::string& name, int step,
                            const std::vector<T>& W, const std::vector<T>& b) {
  const std::string dtype = std::is_same_v<T, float> ? "float" : "double";
  const std::string suffix = "/step_" + std::to_string(step);
  double worst = 0;
  if (!ref.has(name + "/" + dtype + "/W" + suffix)) return worst;
  for (const auto& [pname, values] : {std::pair{"W", &W}, std::pair{"b", &b}}) {
    const auto& r = ref[name + "/" + dtype + "/" + pname + suffix];
    double scale = 0;
    for (double x : r) scale = std::max(scale, std::abs(x));
    const double err = relative_error(*values, r, 1e-2 * scale);
    INFO(name << " (" << dtype << ") " << pname << " after step " << step << ": relative error " << err);
    CHECK(err <= tolerance<T>);
    worst = std::max(worst, err);
  }
  return worst;
}

/// The generators' problem (tests/reference/optim/generate.py): W [3, 4] and b [5] from the
/// file's init/ records, their gradient buffers, and views of both for `add`.
template <class T>
struct reference_problem {
  std::vector<T> W, b, aW, ab, cW, cb, gW, gb;
  pare::tensor_view<T> Wv, bv;
  pare::tensor_view<const T> gWv, gbv;

  explicit reference_problem(const pare_test::reference& ref)
      : W(cast<T>(ref["init/W/p0"])), b(cast<T>(ref["init/b/p0"])), aW(cast<T>(ref["init/W/a"])),
        ab(cast<T>(ref["init/b/a"])), cW(cast<T>(ref["init/W/c"])), cb(cast<T>(ref["init/b/c"])),
        gW(W.size()), gb(b.size()), Wv(W.data(), {3, 4}), bv(b.data(), {5}), gWv(gW.data(), {3, 4}),
        gbv(gb.data(), {5}) {}
  reference_problem(const reference_problem&) = delete;
  reference_problem& operator=(const reference_problem&) = delete;

  /// Both gradients at 0-based step t (see reference_gradient).
  void gradient(double s, int t, double scale = 1.0, bool zero = false) {
    reference_gradient(W, aW, cW, s, t, gW, scale, zero);
    reference_gradient(b, ab, cb, s, t, gb, scale, zero);
  }

  /// Registers W with the optimizer's options and b with the case's group overrides, if any.
  template <class Opt>
  void add_to(Opt& opt, const pare_test::reference& ref, const std::string& name) {
    opt.add(Wv, gWv);
    if (ref.has(name + "/group"))
      opt.add(bv, gbv, group_from<typename Opt::traits_type>(ref[name + "/group"]));
    else
      opt.add(bv, gbv);
  }
};

}  // namespace optim_test
