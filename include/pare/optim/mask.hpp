#pragma once
/// \file
/// `keep_mask`: keeps pruned weights at zero while the rest trains.
///
/// Pruning (pare::prune) decides which weights are removed; this transform makes an optimizer
/// respect it without knowing anything about pruning: masks are plain byte tensors (1 = kept,
/// 0 = pruned), read at every step (so gradual pruning can change them between steps, in
/// place), never copied.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

/// A pruning mask: one byte per weight, 1 = kept, 0 = pruned. An empty view means "no mask".
using mask_view = tensor_view<const std::uint8_t>;
/// One mask per registered parameter, in registration order.
using mask_list = std::vector<mask_view>;

/// Something that hands out the mask of a parameter of type `T` from the address of its data
/// (an empty view when it has none) — what pare::prune's pruner provides:
/// `mask_view mask_of(const T* param_data) const`.
template <class P, class T>
concept mask_provider_for = requires(const P& p, const T* data) {
  { p.mask_of(data) } -> std::convertible_to<mask_view>;
};
template <class P>
concept mask_provider = mask_provider_for<P, float> || mask_provider_for<P, double>;

/// Keeps masked weights at zero: where a mask byte is 0 the update is zeroed at this point of
/// the chain, the weight is written as exactly 0 by the step, and the state of every stateful
/// transform in the chain is reset there to its initial value (zero moments; Adagrad's
/// initial_accumulator_value), so pruned weights carry no stale momentum if they ever return.
/// Where the byte is nonzero nothing changes.
///
/// Masks come either as a list, one per registered parameter (same shape as it, or an empty
/// view for none), or from any `mask_provider` (kept by address: it must outlive the
/// optimizer), asked at every step:
///
///     pare::optim::keep_mask masks({mask_w1, mask_w2});      // positional
///     pare::optim::keep_mask from_pruner(pruner);            // pruner.mask_of(w.data())
///
/// A positional list shorter than the parameters, or a mask whose shape (list) or size
/// (provider) differs from its parameter's, is a `pare::error` (at `add` for a list, at `step`
/// for a provider).
template <class Source = mask_list>
class keep_mask {
 public:
  static constexpr std::string_view name = "pare::optim::keep_mask";
  static constexpr bool masks_parameters = true;

  /// Masks by position: masks[i] belongs to the i-th registered parameter.
  explicit keep_mask(mask_list masks)
    requires std::same_as<Source, mask_list>
      : source_(std::move(masks)) {}
  keep_mask(std::initializer_list<mask_view> masks)
    requires std::same_as<Source, mask_list>
      : source_(masks) {}
  /// Masks from a provider, asked at every step; it must outlive the optimizer.
  template <mask_provider P>
    requires std::same_as<Source, const P*>
  explicit keep_mask(const P& provider) : source_(&provider) {}
  template <mask_provider P>
    requires std::same_as<Source, const P*>
  explicit keep_mask(const P&&) = delete;  // a temporary provider would dangle

  void validate() const {}

  struct scalars {
    const std::uint8_t* mask = nullptr;
  };

  template <class T>
  void check(const param_step<T>& ps) const {
    if constexpr (std::same_as<Source, mask_list>) {
      if (ps.index >= source_.size())
        detail::fail(name, "the mask list must have one entry per parameter (an empty view for "
                           "none), got " + detail::to_text(source_.size()) +
                               " masks when adding parameter " + detail::to_text(ps.index));
      const mask_view m = source_[ps.index];
      if (!m.empty())
        detail::require_same_shape(name, "parameter " + std::to_string(ps.index), ps.param,
                                   "its mask", m);
    } else {
      static_assert(mask_provider_for<std::remove_cvref_t<decltype(*source_)>, T>,
                    "pare::optim::keep_mask: the provider has no mask_of(const T*) for this T");
    }
  }

  template <class T>
  scalars prepare(const param_step<T>& ps) const {
    mask_view m;
    if constexpr (std::same_as<Source, mask_list>) {
      m = source_[ps.index];
    } else {
      m = source_->mask_of(ps.param.data());
      if (!m.empty() && m.size() != ps.param.size())
        detail::fail(name, "the mask of parameter " + detail::to_text(ps.index) +
                               " must have its size " + detail::to_text(ps.param.size()) +
                               ", got " + detail::to_text(m.size()) + " elements");
    }
    return {m.empty() ? nullptr : m.data()};
  }

  template <class T>
  struct masked_kernel {
    const std::uint8_t* mask;
    T operator()(T u, T, std::int64_t i) const noexcept { return mask[i] ? u : T(0); }
  };
  template <class T>
  std::variant<detail::identity_kernel<T>, masked_kernel<T>> kernel(const scalars& k, std::int64_t begin) const noexcept {
    if (k.mask == nullptr) return detail::identity_kernel<T>{};
    return masked_kernel<T>{k.mask + begin};
  }

 private:
  Source source_;
};

keep_mask(mask_list) -> keep_mask<mask_list>;
keep_mask(std::initializer_list<mask_view>) -> keep_mask<mask_list>;
template <mask_provider P>
keep_mask(const P&) -> keep_mask<const P*>;

}  // namespace pare::optim
