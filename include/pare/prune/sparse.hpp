#pragma once
/// \file
/// Sparse storage of pruned `[out, in]` weights for inference, and their matrix-vector
/// products: CSR (`Eigen::SparseMatrix`, row-major) for any sparsity pattern, and a compact N:M
/// form (N values and N in-group positions per M weights) for `n_of_m` pruning.
///
///     auto a = pare::prune::to_csr(w);               // nonzeros of w
///     pare::prune::matvec(a, x, y);                  // y = W·x
///     auto c = pare::prune::to_n_of_m<2, 4>(w);      // at most 2 nonzeros in every 4
///     pare::prune::matvec(c, x, y);
///
/// Whether sparse storage is faster depends on the sparsity: CSR moves a value and an index
/// per nonzero and gathers x, so it only beats the dense product well above 50 % sparsity
/// (docs/prune.md has the numbers for this machine).

#include <algorithm>
#include <limits>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::prune {

/// A compressed sparse row matrix: Eigen's row-major `SparseMatrix`.
template <class T>
using csr_matrix = Eigen::SparseMatrix<T, Eigen::RowMajor>;

namespace detail {

#ifdef __AVX512F__
// Spelled with masked forms: the unmasked intrinsics start from an "undefined" register that
// g++ 12 reports as maybe-uninitialized under -Wall.
inline __m512 gather16(__m512i index, const float* x) noexcept {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16(0xFFFF), index, x, 4);
}
inline __m512i widen16(const std::uint8_t* p) noexcept {
  return _mm512_maskz_cvtepu8_epi32(__mmask16(0xFFFF),
                                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline float sum16(__m512 v) noexcept {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float s = 0;
  for (float x : lanes) s += x;
  return s;
}
#endif

template <class T>
void check_matrix_shape(std::string_view component, const tensor_view<T>& w) {
  if (w.rank() < 2)
    pare::detail::fail_value(component, "the rank of w", "at least 2 (an [out, in] weight)",
                             std::to_string(w.rank()) + " " + pare::detail::to_text(w.shape()));
}

template <class T, class Keep>
csr_matrix<std::remove_const_t<T>> build_csr(std::string_view component,
                                             const tensor_view<T>& w, Keep keep) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::prune::to_csr: w must hold float or double");
  check_matrix_shape(component, w);
  const std::int64_t rows = w.rows(), cols = w.cols();
  std::int64_t nnz = 0;
  for (std::int64_t i = 0; i < w.size(); ++i) nnz += keep(i);
  const std::int64_t limit = std::numeric_limits<typename csr_matrix<V>::StorageIndex>::max();
  pare::detail::require(nnz <= limit && rows <= limit && cols <= limit, component,
                        "the number of stored entries and extents",
                        "at most " + std::to_string(limit) + " (Eigen's index type)",
                        std::max({nnz, rows, cols}));
  csr_matrix<V> a(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  a.reserve(static_cast<Eigen::Index>(nnz));
  for (std::int64_t r = 0; r < rows; ++r) {
    a.startVec(static_cast<Eigen::Index>(r));
    for (std::int64_t c = 0; c < cols; ++c)
      if (keep(r * cols + c))
        a.insertBackByOuterInner(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
            w[r * cols + c];
  }
  a.finalize();
  return a;
}

template <class T, class U>
void check_matvec(std::string_view component, std::int64_t rows, std::int64_t cols,
                  const tensor_view<const T>& x, const tensor_view<U>& y) {
  pare::detail::require(x.size() == cols, component, "the size of x",
                        "the number of columns (" + std::to_string(cols) + ")", x.size());
  pare::detail::require(y.size() == rows, component, "the size of y",
                        "the number of rows (" + std::to_string(rows) + ")", y.size());
  if (rows > 0 && cols > 0) {
    const auto* xb = x.data();
    const auto* yb = y.data();
    const bool overlap = xb < yb + rows && yb < xb + cols;
    pare::detail::require(!overlap, component, "y", "memory that does not overlap x",
                          "an overlapping view");
  }
}

}  // namespace detail

/// The nonzeros of `w` (`[out, in]`; trailing axes of rank > 2 flattened into columns) as a
/// row-major sparse matrix. NaN entries are nonzero and kept.
template <class T>
[[nodiscard]] csr_matrix<std::remove_const_t<T>> to_csr(tensor_view<T> w) {
  return detail::build_csr("pare::prune::to_csr", w,
                           [&](std::int64_t i) { return w[i] != std::remove_const_t<T>(0); });
}

/// The entries of `w` that `mask` keeps (mask ≠ 0), zeros included, as a row-major sparse
/// matrix: the pruned layer's structure, whatever values training has left in it.
template <class T>
[[nodiscard]] csr_matrix<std::remove_const_t<T>> to_csr(tensor_view<T> w,
                                                        tensor_view<const std::uint8_t> mask) {
  pare::detail::require_same_shape("pare::prune::to_csr", "w", w, "mask", mask);
  return detail::build_csr("pare::prune::to_csr", w, [&](std::int64_t i) { return mask[i] != 0; });
}

/// y = A·x for a CSR matrix (x: cols elements, y: rows elements, not overlapping x).
/// One pass over the nonzeros; never allocates. With AVX-512, float rows use 16-wide gathers.
template <class T>
void matvec(const csr_matrix<T>& a, std::type_identity_t<tensor_view<const T>> x,
            std::type_identity_t<tensor_view<T>> y) {
  detail::check_matvec("pare::prune::matvec", a.rows(), a.cols(), x, y);
  const auto* outer = a.outerIndexPtr();
  const auto* inner = a.innerIndexPtr();
  const T* val = a.valuePtr();
  const T* xs = x.data();
  const auto* nnz = a.innerNonZeroPtr();  // null when compressed (always, from to_csr)
  [[maybe_unused]] const Eigen::Index last = std::max<Eigen::Index>(a.data().size() - 1, 0);
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Index b = outer[r], e = nnz ? b + nnz[r] : outer[r + 1];
#ifdef __AVX512F__
    if constexpr (std::is_same_v<T, float> && sizeof(*inner) == 4) {
      // 16 products per instruction, x gathered by column index
      __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
      Eigen::Index p = b;
      for (; p + 32 <= e; p += 32) {
        // a row's nonzeros are one short stream: fetch 2 KiB ahead (into the next rows)
        for (Eigen::Index q = p + 512; q < p + 544; q += 16) {
          const Eigen::Index ahead = std::min(q, last);
          _mm_prefetch(reinterpret_cast<const char*>(val + ahead), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(inner + ahead), _MM_HINT_T0);
        }
        const __m512i i0 = _mm512_loadu_si512(inner + p), i1 = _mm512_loadu_si512(inner + p + 16);
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(val + p), detail::gather16(i0, xs), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(val + p + 16), detail::gather16(i1, xs), acc1);
      }
      for (; p < e; p += 16) {
        const auto left = static_cast<unsigned>(std::min<Eigen::Index>(16, e - p));
        const auto k = static_cast<__mmask16>((1u << left) - 1u);
        const __m512i i0 = _mm512_maskz_loadu_epi32(k, inner + p);
        const __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, i0, xs, 4);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, val + p), g, acc0);
      }
      y[r] = detail::sum16(_mm512_add_ps(acc0, acc1));
      continue;
    }
#endif
    // eight partial sums: the compiler cannot reorder a float sum, and one chain of dependent
    // additions would cap the loop at one product per add latency
    T acc[8] = {};
    Eigen::Index p = b;
    for (; p + 8 <= e; p += 8)
      for (int l = 0; l < 8; ++l) acc[l] += val[p + l] * xs[inner[p + l]];
    for (; p < e; ++p) acc[0] += val[p] * xs[inner[p]];
    y[r] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
}

/// A weight with at most N nonzeros in every M consecutive entries of a row (N:M structured
/// sparsity, e.g. 2:4), stored compactly: for each group, N values and their positions in the
/// group (0…M−1, one byte each), groups in row-major order. 2:4 float weights take 2.5 bytes
/// per weight instead of 4.
template <class T>
struct n_of_m_matrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  int n = 0;
  int m = 0;
  std::vector<T> values;              // rows · (cols / m) · n
  std::vector<std::uint8_t> offsets;  // same count: position of each value in its group

  /// Bytes of the stored values and positions.
  [[nodiscard]] std::int64_t bytes() const noexcept {
    return static_cast<std::int64_t>(values.size() * sizeof(T) + offsets.size());
  }
};

/// Compresses `w` (`[out, in]`, trailing axes flattened) whose every group of M consecutive
/// entries along a row holds at most N nonzeros (what `pruner<…, n_of_m<N, M>>` leaves). Groups
/// with fewer nonzeros store explicit zeros. Throws `pare::error` for n > m, m > 256, a column
/// count not divisible by m, or a group with more than N nonzeros.
template <int N, int M, class T>
[[nodiscard]] n_of_m_matrix<std::remove_const_t<T>> to_n_of_m(tensor_view<T> w) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_floating_point_v<V>, "pare::prune::to_n_of_m: w must hold float or double");
  constexpr std::string_view c = "pare::prune::to_n_of_m";
  pare::detail::require(M >= 1 && M <= 256, c, "m", "in [1, 256]", M);
  pare::detail::require(N >= 0 && N <= M, c, "n", "in [0, m = " + std::to_string(M) + "]", N);
  detail::check_matrix_shape(c, w);
  constexpr int m = std::clamp(M, 1, 256);
  const std::int64_t rows = w.rows(), cols = w.cols();
  if (cols % m != 0)
    pare::detail::fail_value(c, "the number of columns of w",
                             "a multiple of m = " + std::to_string(M), cols);
  n_of_m_matrix<V> a{rows, cols, N, M, {}, {}};
  const std::int64_t groups = rows * (cols / m);
  a.values.assign(static_cast<std::size_t>(groups * N), V(0));
  a.offsets.assign(static_cast<std::size_t>(groups * N), 0);
  for (std::int64_t g = 0; g < groups; ++g) {
    const std::int64_t base = g * m;
    int nonzeros = 0;
    for (int j = 0; j < m; ++j) nonzeros += w[base + j] != V(0);
    if (nonzeros > N)
      pare::detail::fail_value(
          c, "the nonzeros of w in each group of " + std::to_string(M) + " along a row",
          "at most n = " + std::to_string(N),
          std::to_string(nonzeros) + " in row " + std::to_string(base / cols) + ", columns " +
              std::to_string(base % cols) + " to " + std::to_string(base % cols + m - 1));
    int k = 0;
    for (int j = 0; j < m; ++j) {
      if (w[base + j] == V(0)) continue;
      a.values[static_cast<std::size_t>(g * N + k)] = w[base + j];
      a.offsets[static_cast<std::size_t>(g * N + k)] = static_cast<std::uint8_t>(j);
      ++k;
    }
    // pad with zeros at the first positions not used (any position would do: the value is 0)
    for (int j = 0; k < N; ++j) {
      bool used = false;
      for (int l = 0; l < k; ++l) used |= a.offsets[static_cast<std::size_t>(g * N + l)] == j;
      if (used) continue;
      a.offsets[static_cast<std::size_t>(g * N + k)] = static_cast<std::uint8_t>(j);
      ++k;
    }
  }
  return a;
}

/// Writes the dense `[rows, cols]` weight of an N:M matrix into `out` (rows·cols elements).
template <class T>
void to_dense(const n_of_m_matrix<T>& a, std::type_identity_t<tensor_view<T>> out) {
  pare::detail::require(out.size() == a.rows * a.cols, "pare::prune::to_dense", "the size of out",
                        "rows · cols = " + std::to_string(a.rows * a.cols), out.size());
  std::fill(out.data(), out.data() + out.size(), T(0));
  const std::int64_t groups = a.m == 0 ? 0 : a.rows * (a.cols / a.m);
  for (std::int64_t g = 0; g < groups; ++g)
    for (int j = 0; j < a.n; ++j) {
      const auto p = static_cast<std::size_t>(g * a.n + j);
      out[g * a.m + a.offsets[p]] += a.values[p];
    }
}

namespace detail {
#ifdef __AVX512F__
/// 2:4 float rows r0 … r0+R−1 with AVX-512: 16 kept values span 32 columns, and one two-source
/// permute picks their x from the 32 loaded floats (lane l reads column (l / 2)·4 + offset).
/// Several rows at a time share the x loads and keep several memory streams in flight (one
/// stream cannot reach the bandwidth the dense product gets).
template <int R>
void two_of_four_rows(const n_of_m_matrix<float>& a, const float* x, float* y,
                      std::int64_t r0) noexcept {
  const std::int64_t per_row = a.cols / 2;
  const __m512i pattern =
      _mm512_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28);
  const float* v[R];
  const std::uint8_t* o[R];
  __m512 acc[R];
  for (int k = 0; k < R; ++k) {
    v[k] = a.values.data() + (r0 + k) * per_row;
    o[k] = a.offsets.data() + (r0 + k) * per_row;
    acc[k] = _mm512_setzero_ps();
  }
  std::int64_t p = 0;
  for (; p + 16 <= per_row; p += 16) {
    const __m512 lo = _mm512_loadu_ps(x + p * 2), hi = _mm512_loadu_ps(x + p * 2 + 16);
    for (int k = 0; k < R; ++k) {
      const __m512i idx = _mm512_add_epi32(pattern, widen16(o[k] + p));
      acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(v[k] + p), _mm512_permutex2var_ps(lo, idx, hi),
                               acc[k]);
    }
  }
  for (int k = 0; k < R; ++k) {
    float t = sum16(acc[k]);
    for (std::int64_t q = p; q < per_row; ++q) t += v[k][q] * x[q / 2 * 4 + o[k][q]];
    y[r0 + k] = t;
  }
}
#endif

template <int N, int M, class T>
void n_of_m_matvec(const n_of_m_matrix<T>& a, const T* x, T* y) noexcept {
  std::int64_t r = 0;
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float> && N == 2 && M == 4) {
    for (; r + 4 <= a.rows; r += 4) two_of_four_rows<4>(a, x, y, r);
    for (; r < a.rows; ++r) two_of_four_rows<1>(a, x, y, r);
    return;
  }
#endif
  const std::int64_t per_row = a.cols / M * N;
  for (; r < a.rows; ++r) {
    const T* v = a.values.data() + r * per_row;
    const std::uint8_t* o = a.offsets.data() + r * per_row;
    std::int64_t p = 0;
    T acc[8] = {};
    for (; p + 8 <= per_row; p += 8)
      for (int l = 0; l < 8; ++l) acc[l] += v[p + l] * x[(p + l) / N * M + o[p + l]];
    for (; p < per_row; ++p) acc[0] += v[p] * x[p / N * M + o[p]];
    y[r] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
}
template <class T>
void n_of_m_matvec_any(const n_of_m_matrix<T>& a, const T* x, T* y) noexcept {
  const std::int64_t groups = a.cols / a.m;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    T acc = 0;
    for (std::int64_t g = 0; g < groups; ++g)
      for (int j = 0; j < a.n; ++j) {
        const auto p = static_cast<std::size_t>((r * groups + g) * a.n + j);
        acc += a.values[p] * x[g * a.m + a.offsets[p]];
      }
    y[r] = acc;
  }
}
}  // namespace detail

/// y = A·x for an N:M matrix (x: cols elements, y: rows elements, not overlapping x).
/// 2:4, 1:4, 1:2 and 4:8 have unrolled kernels (2:4 float with AVX-512: in-register
/// permutes); other patterns a generic loop.
template <class T>
void matvec(const n_of_m_matrix<T>& a, std::type_identity_t<tensor_view<const T>> x,
            std::type_identity_t<tensor_view<T>> y) {
  detail::check_matvec("pare::prune::matvec", a.rows, a.cols, x, y);
  if (a.n == 2 && a.m == 4) detail::n_of_m_matvec<2, 4>(a, x.data(), y.data());
  else if (a.n == 1 && a.m == 4) detail::n_of_m_matvec<1, 4>(a, x.data(), y.data());
  else if (a.n == 1 && a.m == 2) detail::n_of_m_matvec<1, 2>(a, x.data(), y.data());
  else if (a.n == 4 && a.m == 8) detail::n_of_m_matvec<4, 8>(a, x.data(), y.data());
  else detail::n_of_m_matvec_any(a, x.data(), y.data());
}

}  // namespace pare::prune
