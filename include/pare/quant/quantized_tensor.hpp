#pragma once
/// \file
/// `pare::quant::quantized_tensor`: integer codes plus the qparams that decode them.
///
/// Storage layout (what `bytes()` holds, in row-major element order):
/// - bits 5–8: one `int8_t` two's-complement code per element;
/// - bits 2–4: two codes per byte. Element 2i is in the low nibble of byte i and element 2i + 1
///   in the high nibble; each nibble holds `code + 8` (offset binary, 0…15). When the element
///   count is odd, the high nibble of the last byte is 0.
///
/// `size_bytes()` is what the tensor costs to store: the code bytes, 4 bytes per scale (float32)
/// and, for the affine scheme only, 1 byte per zero point (symmetric zero points are all 0).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant {

class quantized_tensor;

namespace detail {
struct quantized_access;
/// Bytes that hold n codes of the given width.
[[nodiscard]] constexpr std::int64_t code_bytes(std::int64_t n, int bits) noexcept {
  return bits <= 4 ? (n + 1) / 2 : n;
}
/// The code of element i in storage of the given width (see the file comment for the layout).
[[nodiscard]] inline int read_code(std::span<const std::uint8_t> bytes, int bits, std::int64_t i) noexcept {
  if (bits <= 4) {
    const std::uint8_t b = bytes[static_cast<std::size_t>(i >> 1)];
    return static_cast<int>((i & 1) ? (b >> 4) : (b & 0x0F)) - 8;
  }
  return static_cast<std::int8_t>(bytes[static_cast<std::size_t>(i)]);
}
/// Throws `<component>: out must have the shape of q <shape>, got <shape>`.
template <class T>
void require_shape_of_q(std::string_view component, std::span<const std::int64_t> q_shape,
                        const tensor_view<T>& out) {
  if (!std::ranges::equal(q_shape, out.shape()))
    fail(component, "out must have the shape of q " + to_text(q_shape) + ", got " + to_text(out.shape()));
}
}  // namespace detail

/// A linearly quantized tensor: codes, shape and qparams (bits, scheme, axis or group size,
/// scales, zero points). Made by `quantize`, decoded by `dequantize`, multiplied by `matvec`.
/// A default-constructed one is empty (no elements).
class quantized_tensor {
 public:
  quantized_tensor() = default;

  /// Builds a tensor from codes the caller already has (e.g. read from a file): `codes` holds
  /// one code per element in row-major order, each in [qp.qmin(), qp.qmax()]. Throws
  /// `pare::error` when the shape, the qparams or a code is invalid.
  static quantized_tensor from_codes(std::span<const std::int64_t> shape, qparams qp,
                                     std::span<const std::int8_t> codes) {
    constexpr std::string_view component = "pare::quant::quantized_tensor::from_codes";
    const auto l = detail::check_qparams(component, qp, shape);
    std::int64_t n = 1;
    for (auto e : shape) n *= e;
    detail::require(static_cast<std::int64_t>(codes.size()) == n, component, "codes",
                    "one per element (" + detail::to_text(n) + ")",
                    static_cast<std::int64_t>(codes.size()));
    for (std::int64_t i = 0; i < n; ++i) {
      const int c = codes[static_cast<std::size_t>(i)];
      if (c < qp.qmin() || c > qp.qmax())
        detail::fail_value(component, "codes[" + detail::to_text(i) + "]",
                           "in [" + detail::to_text(qp.qmin()) + ", " + detail::to_text(qp.qmax()) + "]", c);
    }
    quantized_tensor q;
    q.shape_.assign(shape.begin(), shape.end());
    q.size_ = n;
    q.params_ = std::move(qp);
    q.layout_ = l;
    q.bytes_.assign(static_cast<std::size_t>(detail::code_bytes(n, q.params_.bits)), 0);
    for (std::int64_t i = 0; i < n; ++i) q.set_code(i, codes[static_cast<std::size_t>(i)]);
    return q;
  }

  /// The extents, outermost first.
  [[nodiscard]] std::span<const std::int64_t> shape() const noexcept { return shape_; }
  [[nodiscard]] int rank() const noexcept { return static_cast<int>(shape_.size()); }
  /// Number of elements.
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] int bits() const noexcept { return params_.bits; }
  [[nodiscard]] quant::scheme scheme() const noexcept { return params_.scheme; }
  /// −1 unless quantized per channel.
  [[nodiscard]] std::int64_t axis() const noexcept { return params_.axis; }
  /// 0 unless quantized per group.
  [[nodiscard]] std::int64_t group_size() const noexcept { return params_.group_size; }
  /// True when two codes share a byte (bits ≤ 4).
  [[nodiscard]] bool packed() const noexcept { return params_.bits <= 4; }
  /// The qparams: one scale and zero point per slice.
  [[nodiscard]] const qparams& params() const noexcept { return params_; }
  [[nodiscard]] std::span<const float> scales() const noexcept { return params_.scales; }
  [[nodiscard]] std::span<const std::int8_t> zero_points() const noexcept {
    return params_.zero_points;
  }
  /// The raw code storage (see the file comment for the layout).
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

  /// The code of element i (flat row-major index, unchecked).
  [[nodiscard]] int code(std::int64_t i) const noexcept { return detail::read_code(bytes_, params_.bits, i); }
  /// The decoded value of element i: (code − z)·s of its slice.
  [[nodiscard]] float value(std::int64_t i) const noexcept {
    const auto k = static_cast<std::size_t>(slice_of(i));
    return static_cast<float>(code(i) - params_.zero_points[k]) * params_.scales[k];
  }
  /// The slice (index into scales and zero points) element i belongs to.
  [[nodiscard]] std::int64_t slice_of(std::int64_t i) const noexcept { return layout_.slice_of(i); }

  /// Storage cost in bytes: codes + 4 per scale + (affine only) 1 per zero point.
  [[nodiscard]] std::size_t size_bytes() const noexcept {
    return bytes_.size() + 4 * params_.scales.size() +
           (params_.scheme == scheme::affine ? params_.zero_points.size() : 0);
  }

 private:
  friend struct detail::quantized_access;
  void set_code(std::int64_t i, int c) noexcept {
    if (packed()) {
      auto& b = bytes_[static_cast<std::size_t>(i >> 1)];
      const auto nib = static_cast<std::uint8_t>(c + 8);
      b = (i & 1) ? static_cast<std::uint8_t>((b & 0x0F) | (nib << 4))
                  : static_cast<std::uint8_t>((b & 0xF0) | nib);
    } else {
      bytes_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(c));
    }
  }

  std::vector<std::int64_t> shape_{0};
  std::int64_t size_ = 0;
  qparams params_;
  detail::slice_layout layout_{};
  std::vector<std::uint8_t> bytes_;
};

namespace detail {
/// Write access for the kernels in linear.hpp (keeps the public surface read-only).
struct quantized_access {
  static std::vector<std::int64_t>& shape(quantized_tensor& q) noexcept { return q.shape_; }
  static std::int64_t& size(quantized_tensor& q) noexcept { return q.size_; }
  static qparams& params(quantized_tensor& q) noexcept { return q.params_; }
  static slice_layout& layout(quantized_tensor& q) noexcept { return q.layout_; }
  static const slice_layout& layout(const quantized_tensor& q) noexcept { return q.layout_; }
  static std::vector<std::uint8_t>& bytes(quantized_tensor& q) noexcept { return q.bytes_; }
};
}  // namespace detail

}  // namespace pare::quant
