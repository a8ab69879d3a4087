#pragma once
/// \file
/// Pruning structures: which weights are removed together.
///
/// Unstructured pruning removes single weights (best accuracy, needs sparse kernels to pay
/// off); `n_of_m` keeps N of every M consecutive weights (the 2:4 pattern of sparse tensor
/// cores); `rows` removes whole output channels (the layer simply gets smaller); `blocks`
/// removes R×C tiles (fits blocked sparse kernels). Structures are empty tag types; the pruner
/// interprets them.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "pare/core/error.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::prune {

/// The family a structure belongs to.
enum class structure_kind { unstructured, n_of_m, rows, blocks };

/// Single weights, ranked by their scores.
struct unstructured {
  static constexpr structure_kind kind = structure_kind::unstructured;
};

/// Keep the N highest-scoring of every M consecutive weights along the last axis (the input
/// axis of an `[out, in]` weight): sparsity is exactly 1 − N/M in every group. 2:4 is what
/// NVIDIA Ampere sparse tensor cores run at twice the dense speed (Mishra et al. 2021,
/// "Accelerating Sparse Deep Neural Networks"). The last extent must be a multiple of M.
template <int N, int M>
struct n_of_m {
  static constexpr structure_kind kind = structure_kind::n_of_m;
  static constexpr int n = N;
  static constexpr int m = M;
};

/// Whole rows of an `[out, in]` weight (output channels; for rank > 2, slices along axis 0),
/// ranked by the Lp norm of their scores, P ≥ 1 — PyTorch's `ln_structured(n = P, dim = 0)`
/// (Li et al. 2017, "Pruning Filters for Efficient ConvNets", use P = 1).
template <int P = 2>
struct rows {
  static constexpr structure_kind kind = structure_kind::rows;
  static constexpr int p = P;
};

/// R×C tiles of the `[rows, cols]` view of a weight (trailing axes flattened), ranked by the L2
/// norm of their scores — TF-MOT's `block_size` pruning, for block-sparse kernels (Gray,
/// Radford & Kingma 2017). Both extents must be multiples of the block's.
template <int R, int C>
struct blocks {
  static constexpr structure_kind kind = structure_kind::blocks;
  static constexpr int r = R;
  static constexpr int c = C;
};

/// A pruning structure: one of `unstructured`, `n_of_m<N, M>`, `rows<P>`, `blocks<R, C>`
/// (a type with `static constexpr structure_kind kind` and that kind's parameters).
template <class S>
concept prune_structure = requires {
  { S::kind } -> std::convertible_to<structure_kind>;
};

static_assert(prune_structure<unstructured> && prune_structure<n_of_m<2, 4>> &&
              prune_structure<rows<>> && prune_structure<blocks<4, 4>>);

namespace detail {

/// "n_of_m<2, 4>", "rows<2>", … for messages.
template <prune_structure S>
[[nodiscard]] std::string structure_name() {
  using std::to_string;
  if constexpr (S::kind == structure_kind::unstructured) return "unstructured";
  else if constexpr (S::kind == structure_kind::n_of_m)
    return "n_of_m<" + to_string(S::n) + ", " + to_string(S::m) + ">";
  else if constexpr (S::kind == structure_kind::rows)
    return "rows<" + to_string(S::p) + ">";
  else
    return "blocks<" + to_string(S::r) + ", " + to_string(S::c) + ">";
}

/// Checks a structure's parameters (the issue asks for `pare::error`, not a compile error, so
/// that configurations read from files fail the same way as those written in code).
template <prune_structure S>
void validate_structure() {
  if constexpr (S::kind == structure_kind::n_of_m) {
    constexpr std::string_view c = "pare::prune::n_of_m";
    pare::detail::require(S::m >= 1, c, "m", "at least 1", S::m);
    pare::detail::require(S::n >= 0, c, "n", "at least 0", S::n);
    pare::detail::require(S::n <= S::m, c, "n", "at most m = " + std::to_string(S::m), S::n);
  } else if constexpr (S::kind == structure_kind::rows) {
    pare::detail::require(S::p >= 1, "pare::prune::rows", "p", "at least 1", S::p);
  } else if constexpr (S::kind == structure_kind::blocks) {
    constexpr std::string_view c = "pare::prune::blocks";
    pare::detail::require(S::r >= 1, c, "r", "at least 1", S::r);
    pare::detail::require(S::c >= 1, c, "c", "at least 1", S::c);
  }
}

/// Checks that a tensor of this shape can be pruned with the structure S (component names the
/// caller, argument the tensor).
template <prune_structure S, class T>
void validate_shape(const tensor_view<T>& w, std::string_view component,
                    std::string_view argument) {
  const std::string arg(argument);
  const std::string shape = pare::detail::to_text(w.shape());
  if constexpr (S::kind == structure_kind::n_of_m) {
    pare::detail::require(w.rank() >= 1, component, "the rank of " + arg, "at least 1 for n_of_m", w.rank());
    const std::int64_t last = w.extent(w.rank() - 1);
    if (last % std::max(S::m, 1) != 0)
      pare::detail::fail_value(component, "the last extent of " + arg,
                 "a multiple of m = " + std::to_string(S::m) + " for " + structure_name<S>(),
                 shape);
  } else if constexpr (S::kind == structure_kind::rows) {
    if (w.rank() < 2)
      pare::detail::fail_value(component, "the rank of " + arg,
                 "at least 2 for " + structure_name<S>() + " (rows of an [out, in] weight)",
                 std::to_string(w.rank()) + " " + shape);
  } else if constexpr (S::kind == structure_kind::blocks) {
    if (w.rank() < 2)
      pare::detail::fail_value(component, "the rank of " + arg, "at least 2 for " + structure_name<S>(),
                 std::to_string(w.rank()) + " " + shape);
    if (w.rows() % std::max(S::r, 1) != 0 || w.cols() % std::max(S::c, 1) != 0)
      pare::detail::fail_value(component, "the shape of " + arg,
                 "divisible into " + std::to_string(S::r) + "x" + std::to_string(S::c) +
                     " blocks (rows a multiple of " + std::to_string(S::r) +
                     ", columns a multiple of " + std::to_string(S::c) + ")",
                 shape);
  }
}

/// Number of groups the structure ranks in a tensor (weights for unstructured; groups of M for
/// n_of_m).
template <prune_structure S, class T>
[[nodiscard]] std::int64_t group_count(const tensor_view<T>& w) noexcept {
  if constexpr (S::kind == structure_kind::unstructured) return w.size();
  else if constexpr (S::kind == structure_kind::n_of_m) return w.size() / std::max(S::m, 1);
  else if constexpr (S::kind == structure_kind::rows) return w.rows();
  else return (w.rows() / std::max(S::r, 1)) * (w.cols() / std::max(S::c, 1));
}

}  // namespace detail
}  // namespace pare::prune
