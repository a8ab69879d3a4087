#pragma once
/// \file
/// `skip_non_finite`: skips a whole step when any update is NaN or ±Inf, and counts the skips.

#include <cstdint>
#include <string_view>

#include "pare/optim/transform.hpp"

namespace pare::optim {

/// Skips the whole step when any element of any update arriving here is NaN or ±Inf (Optax's
/// `apply_if_finite`, the loss-scaling optimizers' "found inf"). A skipped step changes nothing:
/// no parameter, no state, not the optimizer's step count (so schedules and bias corrections
/// only see real steps); `step()` returns false and the optimizer's
/// `status<skip_non_finite>()` counts it:
///
///     auto opt = pare::optim::chain<float>(pare::optim::skip_non_finite{}, pare::optim::as_chain(pare::optim::adam_options{}));
///     if (!opt.step()) std::puts("non-finite gradient, step skipped");
///     opt.status<pare::optim::skip_non_finite>().skipped;   // total skipped steps
///
/// It costs one extra read-only pass over the gradients. Put it first to check the raw gradients.
struct skip_non_finite {
  static constexpr std::string_view name = "pare::optim::skip_non_finite";
  void validate() const {}

  struct partial {
    bool finite = true;
  };
  struct status {
    /// Steps skipped since the optimizer was made (saved with its state).
    std::int64_t skipped = 0;
    /// Whether the last call to step() was skipped.
    bool last_skipped = false;
  };
  struct scalars {};

  template <class T>
  void reduce(partial& a, const chunk<T>& c) const {
    // x − x is 0 for every finite x and NaN for NaN and ±Inf.
    a.finite = a.finite && detail::lanewise_sum(c.u.data(), c.size(), [](T x) { return x - x; }) == 0;
  }
  void combine(partial& a, const partial& b) const { a.finite = a.finite && b.finite; }
  bool finish(const partial& total, status& st, scalars&) const {
    st.last_skipped = !total.finite;
    if (!total.finite) ++st.skipped;
    return total.finite;
  }
  template <class T>
  detail::identity_kernel<T> kernel(const scalars&, std::int64_t) const noexcept {
    return {};
  }
  [[nodiscard]] double scale_factor(const scalars&) const noexcept { return 1.0; }
  void save(detail::state_writer& w, const status& st) const {
    w.value(st.skipped);
    w.value(st.last_skipped);
  }
  void load(detail::state_reader& r, status& st) const {
    st.skipped = r.value<std::int64_t>();
    st.last_skipped = r.value<bool>();
  }
};

}  // namespace pare::optim
