#pragma once
/// \file
/// `pare::quant::fake_quantizer<Observer>`: the stateful QAT building block (PyTorch's
/// FakeQuantize module): while observing, each forward pass feeds the observer and refreshes the
/// qparams, then fake-quantizes; backward is the straight-through gradient.
///
///     pare::quant::fake_quantizer<> act({.bits = 8, .scheme = pare::quant::scheme::affine});
///     act.forward(h, h_q);            // training: observe h, then h_q = fake_quantize(h)
///     act.backward(h, dh_q, dh);      // dh = dh_q where h was in range
///     act.set_observing(false);       // freeze the qparams (e.g. late in training, or eval)
///
/// The default observer is `moving_average_minmax` (c = 0.01), PyTorch's default for activations;
/// `fake_quantizer<minmax>` with `.axis = 0` is the usual choice for weights.

#include <string_view>
#include <type_traits>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/fake_quantize.hpp"
#include "pare/quant/observer.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant {

/// Observer + fake quantization (see the file comment).
template <observer O = moving_average_minmax>
class fake_quantizer {
 public:
  explicit fake_quantizer(const typename O::options& opt = {}) : obs_(opt) {}

  /// While observing: observes x and recomputes the qparams (a few small allocations for the
  /// per-slice vectors). Then y = fake_quantize(x). Throws `pare::error` when not observing and
  /// nothing was ever observed, or for the errors of `observe` and `fake_quantize`.
  template <class T>
  void forward(tensor_view<T> x, tensor_view<std::remove_const_t<T>> y) {
    if (observing_) {
      obs_.observe(x);
      qp_ = obs_.calculate_qparams();
    } else if (qp_.scales.empty()) {
      detail::fail("pare::quant::fake_quantizer", "forward needs qparams: observe at least one batch first");
    }
    fake_quantize(x, qp_, y);
  }

  /// dx = dy where x (the forward input) was inside the representable range, 0 elsewhere.
  template <class T>
  void backward(tensor_view<T> x, tensor_view<const std::remove_const_t<T>> dy,
                tensor_view<std::remove_const_t<T>> dx) const {
    fake_quantize_backward(x, qp_, dy, dx);
  }

  /// Turns observation on (default) or off; off keeps the last qparams.
  void set_observing(bool on) noexcept { observing_ = on; }
  [[nodiscard]] bool observing() const noexcept { return observing_; }
  /// The qparams the last forward pass used.
  [[nodiscard]] const qparams& params() const noexcept { return qp_; }
  /// The observer.
  [[nodiscard]] const O& watcher() const noexcept { return obs_; }

 private:
  O obs_;
  qparams qp_;
  bool observing_ = true;
};

}  // namespace pare::quant
