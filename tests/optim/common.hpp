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

}  // namespace optim_test
