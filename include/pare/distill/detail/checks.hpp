#pragma once
/// \file
/// Argument checks shared by the pare::distill losses. Every check runs before a loss writes
/// anything, so a rejected call leaves the gradient buffers untouched.

#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::distill::detail {

/// `name` must be a non-empty `[batch, classes]` view.
template <class T>
void require_logits(std::string_view component, std::string_view name, const tensor_view<T>& v) {
  if (v.rank() != 2)
    pare::detail::fail(component, std::string(name) + " must be rank 2 [batch, classes], got shape " +
                                      pare::detail::to_text(v.shape()));
  if (v.extent(0) < 1 || v.extent(1) < 1)
    pare::detail::fail(component, std::string(name) +
                                      " must have at least one row and one column, got shape " +
                                      pare::detail::to_text(v.shape()));
}

/// `name` must not share memory with `other`, unless both are exactly the same buffer and
/// `same_ok` (row-wise kernels that read an element before writing it allow exact aliasing).
template <class A, class B>
void require_disjoint(std::string_view component, std::string_view name, const tensor_view<A>& a,
                      std::string_view other, const tensor_view<B>& b, bool same_ok = false) {
  if (a.empty() || b.empty()) return;
  const auto* a0 = reinterpret_cast<const unsigned char*>(a.data());
  const auto* a1 = reinterpret_cast<const unsigned char*>(a.data() + a.size());
  const auto* b0 = reinterpret_cast<const unsigned char*>(b.data());
  const auto* b1 = reinterpret_cast<const unsigned char*>(b.data() + b.size());
  if (same_ok && a0 == b0 && a1 == b1) return;
  // Comparing unrelated pointers with < is unspecified; std::less gives a total order.
  const std::less<const unsigned char*> lt;
  if (lt(a0, b1) && lt(b0, a1))
    pare::detail::fail(component, std::string(name) + " must not overlap " + std::string(other) +
                                      (same_ok ? " (except as the very same buffer)" : ""));
}

/// One label per row, each in [0, classes).
inline void require_labels(std::string_view component, std::span<const std::int64_t> labels,
                           std::int64_t batch, std::int64_t classes) {
  if (static_cast<std::int64_t>(labels.size()) != batch)
    pare::detail::fail_value(component, "labels",
                             "one label per row (" + pare::detail::to_text(batch) + ")",
                             std::to_string(labels.size()) + " labels");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      pare::detail::fail_value(component, "labels[" + std::to_string(i) + "]",
                               "in [0, " + pare::detail::to_text(classes) + ")", labels[i]);
}

/// One finite, non-negative weight per row with a positive sum; returns the sum.
template <class T>
double require_sample_weights(std::string_view component, std::span<const T> w,
                              std::int64_t batch) {
  if (static_cast<std::int64_t>(w.size()) != batch)
    pare::detail::fail_value(component, "sample_weights",
                             "one weight per row (" + pare::detail::to_text(batch) + ")",
                             std::to_string(w.size()) + " weights");
  double sum = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!(w[i] >= 0) || !std::isfinite(w[i]))
      pare::detail::fail_value(component, "sample_weights[" + std::to_string(i) + "]",
                               "finite and >= 0", w[i]);
    sum += static_cast<double>(w[i]);
  }
  if (!(sum > 0) || !std::isfinite(sum))
    pare::detail::fail_value(component, "the sum of sample_weights", "positive and finite", sum);
  return sum;
}

/// A temperature is a finite positive number.
inline void require_temperature(std::string_view component, double temperature) {
  pare::detail::require(temperature > 0 && std::isfinite(temperature), component, "temperature",
                        "> 0 and finite", temperature);
}

}  // namespace pare::distill::detail
