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

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::prune {

/// A compressed sparse row matrix: Eigen's row-major `SparseMatrix`.
template <class T>
using csr_matrix = Eigen::SparseMatrix<T, Eigen::RowMajor>;

namespace detail {

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
/// One pass over the nonzeros; never allocates.
template <class T>
void matvec(const csr_matrix<T>& a, std::type_identity_t<tensor_view<const T>> x,
            std::type_identity_t<tensor_view<T>> y) {
  detail::check_matvec("pare::prune::matvec", a.rows(), a.cols(), x, y);
  const auto* outer = a.outerIndexPtr();
  const auto* inner = a.innerIndexPtr();
  const T* val = a.valuePtr();
  const T* xs = x.data();
  const auto* nnz = a.innerNonZeroPtr();  // null when compressed (always, from to_csr)
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const Eigen::Index b = outer[r], e = nnz ? b + nnz[r] : outer[r + 1];
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
    int k = 0;
    for (int j = 0; j < m; ++j) {
      if (w[base + j] == V(0)) continue;
      if (k == N)
        pare::detail::fail_value(
            c, "w", "at most " + std::to_string(N) + " nonzeros in every " + std::to_string(M) +
                        " consecutive entries of a row",
            "more in row " + std::to_string(base / cols) + ", columns " +
                std::to_string(base % cols) + " to " + std::to_string(base % cols + m - 1));
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
template <int N, int M, class T>
void n_of_m_matvec(const n_of_m_matrix<T>& a, const T* x, T* y) noexcept {
  const std::int64_t per_row = a.cols / M * N;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    const T* v = a.values.data() + r * per_row;
    const std::uint8_t* o = a.offsets.data() + r * per_row;
    T acc[8] = {};
    std::int64_t p = 0;
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
/// 2:4, 1:4, 1:2 and 4:8 have unrolled kernels; other patterns a generic loop.
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
