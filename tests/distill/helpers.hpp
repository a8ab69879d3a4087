#pragma once
// Shared helpers for the pare::distill tests: typed copies of reference records, tolerances per
// scalar type, element-wise comparisons that report the index that failed.

#include <pare/core/tensor_view.hpp>
#include <pare/distill/kd_loss.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/reference.hpp"

namespace distill_test {

/// Relative tolerance per scalar type: double must match torch's float64 autograd to 1e-10;
/// float is computed in float from rounded inputs.
template <class T>
constexpr double tol = std::is_same_v<T, double> ? 1e-10 : 2e-5;

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

inline std::vector<std::int64_t> as_labels(const std::vector<double>& v) {
  return std::vector<std::int64_t>(v.begin(), v.end());
}

/// |a − b| ≤ rel·max(1, |b|): relative for large values, absolute near zero.
inline bool close(double a, double b, double rel) {
  if (std::isnan(b)) return std::isnan(a);
  return std::abs(a - b) <= rel * std::max(1.0, std::abs(b));
}

/// Every got[i] agrees with want[i] by agree(got, want); a failure names the index.
template <class T, class Agree>
void require_each(const std::vector<T>& got, const std::vector<double>& want, const std::string& what,
                  Agree agree) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO(what << "[" << i << "] = " << static_cast<double>(got[i]) << ", expected " << want[i]);
    REQUIRE(agree(static_cast<double>(got[i]), want[i]));
  }
}

template <class T>
void require_close(const std::vector<T>& got, const std::vector<double>& want, double rel,
                   const std::string& what) {
  require_each(got, want, what, [rel](double a, double b) { return close(a, b, rel); });
}

/// Like close, but exact where the reference is exact: a reference of exactly 0 or ±inf must be
/// matched in value (a masked class's probability and gradient are 0, not 1e-309), NaN by NaN;
/// everything else within rel.
inline bool matches(double a, double b, double rel) {
  return b == 0 || std::isinf(b) ? a == b : close(a, b, rel);
}

template <class T>
void require_match(const std::vector<T>& got, const std::vector<double>& want, double rel,
                   const std::string& what) {
  require_each(got, want, what, [rel](double a, double b) { return matches(a, b, rel); });
}

inline void require_match(double got, double want, double rel, const std::string& what) {
  INFO(what << " = " << got << ", expected " << want);
  REQUIRE(matches(got, want, rel));
}

inline void require_close(double got, double want, double rel, const std::string& what) {
  INFO(what << " = " << got << ", expected " << want);
  REQUIRE(close(got, want, rel));
}

/// The (rows, cols) stored under "<prefix>/shape".
inline std::pair<std::int64_t, std::int64_t> shape2(const pare_test::reference& ref, const std::string& prefix) {
  const auto& shape = ref[prefix + "/shape"];
  return {static_cast<std::int64_t>(shape.at(0)), static_cast<std::int64_t>(shape.at(1))};
}

/// A number as Python's repr writes a float (the generator's keys): 1.0, 0.5, 20.0, 7.5.
inline std::string py(double v) {
  std::string s = pare::detail::to_text(v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

/// A [rows, cols] view of a vector.
template <class T>
pare::tensor_view<T> view2(std::vector<std::remove_const_t<T>>& v, std::int64_t rows,
                           std::int64_t cols) {
  return pare::tensor_view<T>(v.data(), {rows, cols});
}

/// kd_loss on [B, C] student/teacher vectors (teacher probabilities when offline), weighted by
/// w when asked; the gradient goes to g.
template <class T>
double run_kd(const pare::distill::kd_loss& kd, bool offline, bool weighted, std::vector<T>& s, std::vector<T>& t,
              const std::vector<std::int64_t>& y, std::vector<T>& w, std::vector<T>& g, std::int64_t B,
              std::int64_t C) {
  const auto sv = view2<const T>(s, B, C);
  const auto tv = view2<const T>(t, B, C);
  const auto gv = view2<T>(g, B, C);
  if (offline) return weighted ? kd.offline(sv, tv, y, w, gv) : kd.offline(sv, tv, y, gv);
  return weighted ? kd(sv, tv, y, w, gv) : kd(sv, tv, y, gv);
}

}  // namespace distill_test
