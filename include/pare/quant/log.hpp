#pragma once
/// \file
/// Logarithmic quantization: every value becomes 0 or ±c·b^(−k), so a multiplication by a
/// quantized weight is a shift (base 2) or a shift and a table lookup (base √2).
///
///     auto l = pare::quant::quantize_log(w, {.bits = 4, .base = 2.0});
///     pare::quant::dequantize(l, w_hat);
///
/// The formula (per tensor, or per channel along `axis`):
///   c = b^(floor(log_b max|x|) + 1)          the first power of b above the largest magnitude
///   k = round_half_even(log_b(c / |x|))      0 ≤ k ≤ 2^(bits−1) − 2
///   x̂ = sign(x)·c·b^(−k), and x̂ = 0 when x = 0 or k > 2^(bits−1) − 2.
/// Code layout: bits count the sign. A code q is an integer in [−M, M], M = 2^(bits−1) − 1:
/// q = 0 is zero and q = ±(k + 1) is ±c·b^(−k). Codes are stored as `quantized_tensor` stores
/// them: int8 for 5–8 bits, nibbles holding q + 8 (element 2i low, 2i + 1 high) for 2–4 bits.
/// Rounding happens in the log domain, so the decision point between k and k + 1 is
/// c·b^(−k−½) (for base 2: 1.414·2^(−k)·c, not the linear midpoint 1.5).
/// Reference: Miyashita, Lee & Murmann, "Convolutional Neural Networks using Logarithmic Data
/// Representation", 2016.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/quant/linear.hpp"
#include "pare/quant/qparams.hpp"

namespace pare::quant {

/// Options of `quantize_log`: bits (2–8, counting the sign), base b > 1 (2 and √2 are the usual
/// ones) and axis (−1 = one c for the whole tensor, otherwise one per index along that axis).
struct log_options {
  int bits = 4;
  double base = 2.0;
  std::int64_t axis = -1;
};

/// A log-quantized tensor: codes, shape, bits, base and, per slice, the exponent E of
/// c = b^E. `size_bytes()` = code bytes + 2 bytes (int16 exponent) per slice.
class log_quantized_tensor {
 public:
  log_quantized_tensor() = default;

  [[nodiscard]] std::span<const std::int64_t> shape() const noexcept { return shape_; }
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }
  [[nodiscard]] int bits() const noexcept { return bits_; }
  [[nodiscard]] double base() const noexcept { return base_; }
  [[nodiscard]] std::int64_t axis() const noexcept { return axis_; }
  [[nodiscard]] bool packed() const noexcept { return bits_ <= 4; }
  /// The largest |code|: M = 2^(bits−1) − 1 (k runs over [0, M − 1]).
  [[nodiscard]] int max_code() const noexcept { return (1 << (bits_ - 1)) - 1; }
  /// Exponent E of c = b^E, one per slice.
  [[nodiscard]] std::span<const std::int16_t> exponents() const noexcept { return exponents_; }
  /// c = b^E of slice k.
  [[nodiscard]] double c(std::int64_t slice) const noexcept {
    return std::pow(base_, exponents_[static_cast<std::size_t>(slice)]);
  }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  /// The code of element i: 0, or ±(k + 1).
  [[nodiscard]] int code(std::int64_t i) const noexcept { return detail::read_code(bytes_, bits_, i); }
  /// The slice element i belongs to.
  [[nodiscard]] std::int64_t slice_of(std::int64_t i) const noexcept { return layout_.slice_of(i); }
  /// The decoded value of element i.
  [[nodiscard]] double value(std::int64_t i) const noexcept {
    const int q = code(i);
    if (q == 0) return 0.0;
    const double m = std::pow(base_, exponents_[static_cast<std::size_t>(slice_of(i))] - (std::abs(q) - 1));
    return q < 0 ? -m : m;
  }
  /// Storage cost in bytes: codes + 2 per slice.
  [[nodiscard]] std::size_t size_bytes() const noexcept {
    return bytes_.size() + 2 * exponents_.size();
  }

 private:
  template <class T>
  friend void quantize_log(tensor_view<T>, const log_options&, log_quantized_tensor&);
  template <class T>
  friend void dequantize(const log_quantized_tensor&, tensor_view<T>);

  std::vector<std::int64_t> shape_{0};
  std::int64_t size_ = 0;
  int bits_ = 4;
  double base_ = 2.0;
  std::int64_t axis_ = -1;
  detail::slice_layout layout_{};
  std::vector<std::int16_t> exponents_;
  std::vector<std::uint8_t> bytes_;
};

namespace detail {

inline constexpr std::string_view log_component = "pare::quant::quantize_log";

/// E = floor(log_b m) + 1 for m > 0, corrected so that b^(E−1) ≤ m < b^E holds in double.
inline int log_exponent(double m, double b) noexcept {
  double f = b == 2.0 ? std::floor(std::log2(m)) : std::floor(std::log(m) / std::log(b));
  int e = static_cast<int>(f);
  while (std::pow(b, e + 1) <= m) ++e;
  while (std::pow(b, e) > m) --e;
  return e + 1;
}

/// Decision thresholds θ_j = c·b^(−j−½), j = 0 … M − 1 (descending): |x| ≥ θ_0 gives k = 0,
/// θ_j ≤ |x| < θ_(j−1) gives k = j, |x| < θ_(M−1) gives the zero code.
inline void log_thresholds(double b, int E, int M, double* theta) noexcept {
  const double half = std::sqrt(b);
  for (int j = 0; j < M; ++j) theta[j] = std::pow(b, E - j) / half;
}

/// k = round_half_even(log_b(c/a)) via the thresholds (exact in the log domain: a tie a = θ_j
/// rounds to the even one of j, j + 1); returns M (zero code) past the range.
inline int log_k(double a, const double* theta, int M) noexcept {
  // number of thresholds strictly above a
  int lo = 0, hi = M;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (a < theta[mid]) lo = mid + 1; else hi = mid;
  }
  int k = lo;
  if (k < M && a == theta[k] && (k & 1)) ++k;
  return k;
}

/// Codes of x[0, m) into q (int8: 0, or ±(k + 1) for k < M), by log_k in double.
template <class V>
inline void log_codes(const V* x, std::int64_t m, const double* theta, int M, std::int8_t* q) noexcept {
  for (std::int64_t i = 0; i < m; ++i) {
    const double v = static_cast<double>(x[i]);
    const int k = log_k(std::abs(v), theta, M);
    const int c = k >= M ? 0 : k + 1;
    q[i] = static_cast<std::int8_t>(v < 0 ? -c : c);
  }
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
/// The log codes of float values with at most `vec_log_max` magnitudes (bits ≤ 5), 16 at a time:
/// k = #{j : |x| < θ_j} + #{j odd, θ_j a float : |x| = θ_j}, the same count log_k makes by
/// bisection in double. A float a lies below the double θ exactly when it lies below θ rounded
/// up to a float (θ↑), and can equal θ only when θ is itself a float, so comparing floats with
/// the θ↑ gives the double comparisons exactly.
inline constexpr int vec_log_max = 15;
struct float_thresholds {
  float up[vec_log_max];  // θ_j rounded up to a float
  float ties[vec_log_max];  // θ_j for odd j where θ_j is a float (a tie moves k to j + 1)
  int n_ties = 0;
};
inline void make_float_thresholds(const double* theta, int M, float_thresholds& t) noexcept {
  t.n_ties = 0;
  for (int j = 0; j < M; ++j) {
    if (theta[j] > std::numeric_limits<float>::max()) {  // every finite float lies below it
      t.up[j] = std::numeric_limits<float>::infinity();
      continue;
    }
    auto f = static_cast<float>(theta[j]);
    if (static_cast<double>(f) < theta[j]) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    t.up[j] = f;
    if ((j & 1) && static_cast<double>(f) == theta[j]) t.ties[t.n_ties++] = f;
  }
}
/// Codes of x[0, m) into q (int8: 0, or ±(k + 1) for k < M).
inline void log_codes_float(const float* x, std::int64_t m, const float_thresholds& t, int M, std::int8_t* q) noexcept {
  const __m512i one = _mm512_set1_epi32(1), zero = _mm512_setzero_si512(), mm = _mm512_set1_epi32(M);
  for (std::int64_t i = 0; i < m; i += 16) {
    const auto lanes = static_cast<__mmask16>(m - i >= 16 ? 0xFFFF : (1u << (m - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
    const __m512 a = _mm512_abs_ps(v);
    __m512i k = zero;
    for (int j = 0; j < M; ++j)
      k = _mm512_mask_add_epi32(k, _mm512_cmp_ps_mask(a, _mm512_set1_ps(t.up[j]), _CMP_LT_OQ), k, one);
    for (int j = 0; j < t.n_ties; ++j)
      k = _mm512_mask_add_epi32(k, _mm512_cmp_ps_mask(a, _mm512_set1_ps(t.ties[j]), _CMP_EQ_OQ), k, one);
    // q = k + 1 inside the range, 0 past it; negative x gets −q
    __m512i c = _mm512_mask_add_epi32(zero, _mm512_cmp_epi32_mask(k, mm, _MM_CMPINT_LT), k, one);
    c = _mm512_mask_sub_epi32(c, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), zero, c);
    _mm512_mask_cvtepi32_storeu_epi8(q + i, lanes, c);
  }
}
#endif

}  // namespace detail

/// Log-quantizes x into `out` (reusing its storage). Throws `pare::error` for bits outside
/// [2, 8], a base that is not a finite number above 1, an axis outside [−1, rank), an empty x or
/// a NaN or infinity in x (then `out` is left unchanged). An all-zero slice gets c = 1 (E = 0)
/// and zero codes.
template <class T>
void quantize_log(tensor_view<T> x, const log_options& opt, log_quantized_tensor& out) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::quant::quantize_log: x must be float or double");
  constexpr auto component = detail::log_component;
  if (!(opt.base > 1.0) || !std::isfinite(opt.base))
    detail::fail_value(component, "base", "a finite number greater than 1", opt.base);
  const detail::slice_layout l = detail::make_layout(component, x.shape(), opt.bits, opt.axis, 0);
  const std::int64_t n = x.size();
  const V* xp = x.data();
  std::vector<double> lo, hi;
  detail::slice_ranges(component, xp, n, l, lo, hi);  // throws before anything changes

  const int M = (1 << (opt.bits - 1)) - 1;
  std::vector<std::int16_t> exps(lo.size());
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const double m = std::max(-lo[k], hi[k]);
    const int E = m > 0 ? detail::log_exponent(m, opt.base) : 0;
    if (E < std::numeric_limits<std::int16_t>::min() || E > std::numeric_limits<std::int16_t>::max())
      detail::fail_value(component, "log_b max|x|", "within the int16 range", E);
    exps[k] = static_cast<std::int16_t>(E);
  }
  out.shape_.assign(x.shape().begin(), x.shape().end());
  out.size_ = n;
  out.bits_ = opt.bits;
  out.base_ = opt.base;
  out.axis_ = opt.axis;
  out.layout_ = l;
  out.exponents_ = std::move(exps);
  out.bytes_.resize(static_cast<std::size_t>(detail::code_bytes(n, opt.bits)));
  std::uint8_t* bytes = out.bytes_.data();

  double theta[128];
#if defined(__AVX512F__) && defined(__AVX512BW__)
  [[maybe_unused]] detail::float_thresholds ft;
#endif
  std::int64_t theta_slice = -1;
  alignas(64) std::int8_t buf[detail::code_piece];
  detail::for_each_run(0, n, l, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    if (k != theta_slice) {
      detail::log_thresholds(opt.base, out.exponents_[static_cast<std::size_t>(k)], M, theta);
#if defined(__AVX512F__) && defined(__AVX512BW__)
      if constexpr (std::is_same_v<V, float>)
        if (M <= detail::vec_log_max) detail::make_float_thresholds(theta, M, ft);
#endif
      theta_slice = k;
    }
    for (std::int64_t p = b; p < e; p += detail::code_piece) {
      const std::int64_t m = std::min(detail::code_piece, e - p);
      bool coded = false;
#if defined(__AVX512F__) && defined(__AVX512BW__)
      if constexpr (std::is_same_v<V, float>) {
        if (M <= detail::vec_log_max) {
          detail::log_codes_float(xp + p, m, ft, M, buf);
          coded = true;
        }
      }
#endif
      if (!coded) detail::log_codes(xp + p, m, theta, M, buf);
      if (opt.bits > 4)
        std::copy(buf, buf + m, reinterpret_cast<std::int8_t*>(bytes) + p);
      else
        detail::pack_nibbles_at(buf, m, bytes, p);
    }
  });
}

/// Log-quantizes x (see the three-argument form).
template <class T>
[[nodiscard]] log_quantized_tensor quantize_log(tensor_view<T> x, const log_options& opt = {}) {
  log_quantized_tensor q;
  quantize_log(x, opt, q);
  return q;
}

/// Writes sign·c·b^(−k) (or 0) for every element of `q` into `out`, which must have q's shape.
template <class T>
void dequantize(const log_quantized_tensor& q, tensor_view<T> out) {
  static_assert(std::is_floating_point_v<T> && !std::is_const_v<T>,
                "pare::quant::dequantize: out must be a mutable float or double view");
  detail::require_shape_of_q("pare::quant::dequantize", q.shape(), out);
  const int M = q.max_code();
  T table[255];  // table[code + M]
  std::int64_t table_slice = -1;
  alignas(64) std::int8_t buf[detail::code_piece];
  T* o = out.data();
  const std::uint8_t* bytes = q.bytes_.data();
  detail::for_each_run(0, q.size(), q.layout_, [&](std::int64_t b, std::int64_t e, std::int64_t k) {
    if (k != table_slice) {
      const int E = q.exponents_[static_cast<std::size_t>(k)];
      table[M] = 0;
      for (int j = 1; j <= M; ++j) {
        const T m = static_cast<T>(std::pow(q.base_, E - (j - 1)));
        table[M + j] = m;
        table[M - j] = -m;
      }
      table_slice = k;
    }
    for (std::int64_t p = b; p < e; p += detail::code_piece) {
      const std::int64_t m = std::min(detail::code_piece, e - p);
      const std::int8_t* c;
      if (q.bits_ > 4) {
        c = reinterpret_cast<const std::int8_t*>(bytes) + p;
      } else {
        detail::unpack_nibbles_at(bytes, p, m, buf);
        c = buf;
      }
      for (std::int64_t i = 0; i < m; ++i) o[p + i] = table[c[i] + M];
    }
  });
}

// std::vector forms: a vector is a 1-D tensor.
template <class T>
void quantize_log(const std::vector<T>& x, const log_options& opt, log_quantized_tensor& out) {
  quantize_log(tensor_view<const T>(x), opt, out);
}
template <class T>
[[nodiscard]] log_quantized_tensor quantize_log(const std::vector<T>& x, const log_options& opt = {}) {
  return quantize_log(tensor_view<const T>(x), opt);
}
template <class T>
void dequantize(const log_quantized_tensor& q, std::vector<T>& out) {
  dequantize(q, tensor_view<T>(out));
}

}  // namespace pare::quant
