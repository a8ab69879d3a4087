#pragma once
/// \file
/// `pare::reg::dropout<T>`: inverted dropout with a counter-based, reproducible mask that the
/// forward pass writes and the backward pass reuses.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/rng.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::reg {

/// Options of `dropout`: the probability of dropping an element and the random stream's seed.
struct dropout_options {
  /// Probability that an element is zeroed during training, in [0, 1).
  double rate = 0.5;
  /// Seed of the counter-based stream: the same seed gives the same sequence of masks.
  std::uint64_t seed = 0;
};

/// Inverted dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014): in
/// training, each element is kept with probability 1 − rate and scaled by 1/(1 − rate), so the
/// expected output equals the input and evaluation needs no rescaling:
///
///     y = mask ⊙ x / (1 − rate),   dx = mask ⊙ dy / (1 − rate),   mask_i ~ Bernoulli(1 − rate)
///
///     pare::reg::dropout<float> drop({.rate = 0.2, .seed = 42});
///     drop.forward(h, h);          // in place is fine; writes the mask
///     ...
///     drop.backward(dh, dh);       // the same mask
///     drop.set_training(false);    // evaluation: forward is the identity
///
/// The mask of element i in the k-th training forward is a pure function of (seed, position
/// in the stream): the stream advances by the element count at every training forward, so a
/// run is reproducible whatever the chunking or thread count, and the generator (splitmix64
/// read at a counter) vectorizes. An element is kept when its 64-bit random word is at least
/// rate·2^64. The mask buffer (one byte per element) grows to the largest input seen and is
/// reused; `reserve(n)` allocates it up front. Dropped elements are exactly 0 even when the
/// input is NaN or Inf (a select, as tf.nn.dropout; PyTorch's multiply gives NaN there); kept
/// ones carry NaN/Inf through. rate = 0 is the identity with an all-ones mask (no random
/// numbers drawn); rate = 1 is rejected (there would be nothing to scale).
///
/// Throws `pare::error` for a rate outside [0, 1), x/y (dy/dx) shapes that differ, a backward
/// before any forward, or a backward whose shape differs from the last forward's.
template <class T = float>
class dropout {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "pare::reg::dropout<T>: T must be float or double");

 public:
  using options_type = dropout_options;
  static constexpr std::string_view component = "pare::reg::dropout";

  explicit dropout(dropout_options o = {}) : opt_(o) {
    pare::detail::require(o.rate >= 0 && o.rate < 1, component, "rate", "in [0, 1)", o.rate);
    // P(drop) = threshold / 2^64; rate < 1 keeps the threshold below 2^64.
    threshold_ = static_cast<std::uint64_t>(std::ldexp(o.rate, 64));
    scale_ = static_cast<T>(1.0 / (1.0 - o.rate));
  }

  /// y = x ⊙ mask / (1 − rate) in training, y = x in evaluation. `y` may be `x` itself.
  void forward(tensor_view<const T> x, tensor_view<T> y) {
    pare::detail::require_same_shape(component, "x", x, "y", y);
    const std::int64_t n = x.size();
    set_shape(x);
    last_training_ = training_;
    has_forward_ = true;
    const T* xp = x.data();
    T* yp = y.data();
    if (!training_) {
      if (xp != yp && n > 0) std::memcpy(yp, xp, static_cast<std::size_t>(n) * sizeof(T));
      return;
    }
    if (mask_.size() < static_cast<std::size_t>(n)) mask_.resize(static_cast<std::size_t>(n));
    std::uint8_t* m = mask_.data();
    if (threshold_ == 0) {
      std::memset(m, 1, static_cast<std::size_t>(n));
      if (xp != yp && n > 0) std::memcpy(yp, xp, static_cast<std::size_t>(n) * sizeof(T));
      return;
    }
    const std::uint64_t seed = opt_.seed, offset = offset_, threshold = threshold_;
    const T scale = scale_;
    pare::detail::for_each_chunk(n, pare::detail::chunk_elements, [=](std::int64_t b, std::int64_t e) {
      forward_kernel(xp + b, yp + b, m + b, e - b, seed, offset + static_cast<std::uint64_t>(b),
                     threshold, scale);
    });
    offset_ += static_cast<std::uint64_t>(n);
  }

  /// dx = dy ⊙ mask / (1 − rate) with the mask of the last forward (dx = dy if that forward
  /// ran in evaluation mode). `dx` may be `dy` itself.
  void backward(tensor_view<const T> dy, tensor_view<T> dx) const {
    if (!has_forward_) pare::detail::fail(component, "backward needs a forward first");
    pare::detail::require_same_shape(component, "dy", dy, "dx", dx);
    if (!std::ranges::equal(dy.shape(), shape()))
      pare::detail::fail(component, "dy must have the shape of the last forward's input " +
                                        pare::detail::to_text(shape()) + ", got " +
                                        pare::detail::to_text(dy.shape()));
    const std::int64_t n = dy.size();
    const T* gp = dy.data();
    T* dp = dx.data();
    if (!last_training_ || threshold_ == 0) {
      if (gp != dp && n > 0) std::memcpy(dp, gp, static_cast<std::size_t>(n) * sizeof(T));
      return;
    }
    const std::uint8_t* m = mask_.data();
    const T scale = scale_;
    pare::detail::for_each_chunk(n, pare::detail::chunk_elements, [=](std::int64_t b, std::int64_t e) {
      backward_kernel(gp + b, dp + b, m + b, e - b, scale);
    });
  }

  /// Training (true, the initial state) draws masks; evaluation (false) makes forward the identity.
  void set_training(bool training) noexcept { training_ = training; }
  [[nodiscard]] bool training() const noexcept { return training_; }
  [[nodiscard]] double rate() const noexcept { return opt_.rate; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return opt_.seed; }
  [[nodiscard]] const dropout_options& options() const noexcept { return opt_; }
  /// The scale 1/(1 − rate) applied to kept elements.
  [[nodiscard]] T scale() const noexcept { return scale_; }
  /// The mask of the last forward (1 = kept), shaped like its input; empty before the first
  /// forward or when the last forward ran in evaluation mode.
  [[nodiscard]] tensor_view<const std::uint8_t> mask() const {
    if (!has_forward_ || !last_training_) return {};
    return tensor_view<const std::uint8_t>(mask_.data(), shape());
  }
  /// Allocates the mask for inputs of up to n elements now rather than at the first forward.
  void reserve(std::int64_t n) {
    pare::detail::require(n >= 0, component, "n", ">= 0", n);
    if (mask_.size() < static_cast<std::size_t>(n)) mask_.resize(static_cast<std::size_t>(n));
  }
  /// Elements drawn so far: the stream position where the next training forward starts.
  [[nodiscard]] std::uint64_t position() const noexcept { return offset_; }

 private:
  // The kernels take everything by value: the byte stores to the mask may alias any object in
  // memory, and a loop that had to reload its captured state after each of them would not
  // vectorize. The mask never overlaps x or y (it is ours); x and y may be the same buffer.
  static void forward_kernel(const T* x, T* y, std::uint8_t* __restrict m, std::int64_t n,
                             std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold,
                             T scale) {
    for (std::int64_t i = 0; i < n; ++i) {
      const bool keep =
          pare::detail::random_bits(seed, offset + static_cast<std::uint64_t>(i)) >= threshold;
      m[i] = keep;
      y[i] = keep ? x[i] * scale : T(0);
    }
  }
  static void backward_kernel(const T* dy, T* dx, const std::uint8_t* __restrict m,
                              std::int64_t n, T scale) {
    for (std::int64_t i = 0; i < n; ++i) dx[i] = m[i] ? dy[i] * scale : T(0);
  }

  void set_shape(const tensor_view<const T>& x) {
    rank_ = x.rank();
    for (int i = 0; i < rank_; ++i) shape_[static_cast<std::size_t>(i)] = x.extent(i);
  }
  [[nodiscard]] std::span<const std::int64_t> shape() const {
    return {shape_.data(), static_cast<std::size_t>(rank_)};
  }

  dropout_options opt_;
  std::uint64_t threshold_ = 0;
  T scale_ = 1;
  bool training_ = true;
  bool last_training_ = true;
  bool has_forward_ = false;
  std::uint64_t offset_ = 0;
  std::vector<std::uint8_t> mask_;
  std::array<std::int64_t, tensor_view<const T>::max_rank> shape_{};
  int rank_ = 0;
};

}  // namespace pare::reg
