#pragma once
/// \file
/// `pare::prune::pruner`: masks the lowest-scoring weights (or groups) of registered tensors,
/// exactly and deterministically, per tensor or globally.
///
///     pare::prune::pruner<float, pare::prune::magnitude, pare::prune::unstructured> p(
///         {.scope = pare::prune::scope::global});
///     p.add(w1); p.add(w2);
///     p.prune_to(0.9);   // exactly round(0.9·n) of the n weights masked, and zeroed
///     p.apply();         // after an update that did not respect the mask: re-zero
///     p.sparsity();      // 0.9 (up to rounding); p.mask(0): 1 = kept, 0 = pruned
///
/// Selection is a radix select over the scores' bit patterns (see detail/select.hpp): O(n), no
/// sort, no copy of the scores, split over OpenMP threads when compiled with -fopenmp.

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/prune/criterion.hpp"
#include "pare/prune/detail/select.hpp"
#include "pare/prune/structure.hpp"

namespace pare::prune {

namespace detail {

/// Keys of elements [j0, j0 + count) of a tensor: the criterion's score, or 0 (below every
/// score) where the mask already prunes. `in` is taken by value so that the loop vectorizes
/// (stores to `out` cannot change the pointers it holds).
template <class C, class T>
void element_keys(const C& crit, const score_inputs<T> in, const std::uint8_t* m,
                  std::int64_t j0, std::int64_t count, key_type<T>* out) noexcept {
  for (std::int64_t j = 0; j < count; ++j) {
    const key_type<T> k = order_key(crit.template score<T>(in, j0 + j));
    out[j] = m[j0 + j] ? k : key_type<T>(0);
  }
}

/// Writes masks and zeroes weights for one block of keys: kept iff key ≥ cut. Its own
/// function with restrict-qualified pointers so that it vectorizes (a byte store could
/// otherwise alias anything). Returns the number kept.
template <class K, class T>
inline std::uint32_t write_block(const K* __restrict keys, std::uint8_t* __restrict m,
                                 T* __restrict w, std::int64_t count, K cut) noexcept {
  std::uint32_t kept = 0;
  for (std::int64_t j = 0; j < count; ++j) {
    const std::uint32_t keep = keys[j] >= cut;
    m[j] = static_cast<std::uint8_t>(keep);
    w[j] = keep ? w[j] : T(0);
    kept += keep;
  }
  return kept;
}

/// How many of `count` keys equal `v` (vectorized).
template <class K>
[[nodiscard]] inline std::uint32_t count_equal(const K* keys, std::int64_t count, K v) noexcept {
  std::uint32_t c = 0;
  for (std::int64_t i = 0; i < count; ++i) c += keys[i] == v;
  return c;
}

/// The write pass over elements [lo, hi) of a tensor: a key below `cut` is pruned, a key equal
/// to it is pruned while `quota` lasts (lowest positions first), others are kept; pruned
/// weights are zeroed. Returns the number pruned.
template <class C, class T>
std::int64_t write_elements(const C& crit, const score_inputs<T> in, std::uint8_t* m, T* w,
                            std::int64_t lo, std::int64_t hi, key_type<T> cut,
                            std::int64_t& quota) noexcept {
  using K = key_type<T>;
  K keys[scan_block];
  std::int64_t pruned = 0;
  for (std::int64_t j = lo; j < hi; j += scan_block) {
    const std::int64_t c = std::min(scan_block, hi - j);
    element_keys(crit, in, m, j, c, keys);
    pruned += c - write_block(keys, m + j, w + j, c, cut);  // keys equal to the cut kept, …
    if (quota == 0 || count_equal(keys, c, cut) == 0) continue;
    for (std::int64_t i = 0; i < c && quota > 0; ++i) {  // … until this slice's ties go
      if (keys[i] != cut) continue;
      m[j + i] = 0;
      w[j + i] = T(0);
      ++pruned;
      --quota;
    }
  }
  return pruned;
}

}  // namespace detail

/// Where one pruning threshold applies: `per_tensor` prunes round(s·n_i) of each tensor's n_i
/// weights (or groups); `global` prunes round(s·n) of all n registered weights (or groups)
/// together, so layers whose scores are lower lose more (Frankle & Carbin 2019 prune globally;
/// PyTorch `global_unstructured`).
enum class scope { per_tensor, global };

/// Options of a `pruner`: the scope, then the criterion's and the structure's own options.
template <class Criterion, class Structure>
struct pruner_options {
  prune::scope scope = prune::scope::per_tensor;
  Criterion criterion{};
  Structure structure{};
};

/// Masks the lowest-scoring weights of the tensors it holds.
///
/// `prune_to(s)` sets the sparsity of every scope (each tensor, or all tensors together) to
/// exactly round(s·n) masked weights — or rows / blocks for those structures — with round half
/// to even (Python's and PyTorch's `round`), masks them (1 byte per weight, 1 = kept) and
/// zeroes them. The masked set is the lowest `Criterion` scores; equal scores are pruned in
/// order of position (the earlier-registered tensor first, then the lower index).
///
/// Iterative pruning: weights that are already masked rank below every unmasked weight, so
/// raising the sparsity only adds weights to the mask (the k lowest survivors, as PyTorch's
/// iterative pruning and TF-MOT do), and pruning twice to the same sparsity changes nothing.
/// Lowering it unmasks already-masked weights, the higher positions first (their values stay
/// 0 until training moves them). `reset()` forgets every mask.
///
/// The pruner keeps the views it is given: the memory must outlive it. Masks live in storage
/// of their own that never moves, so views returned by `mask(i)` and `mask_of(p)` stay valid
/// for the pruner's lifetime (moves included). Move-only.
template <class T = float, class Criterion = magnitude, class Structure = unstructured>
  requires(std::same_as<T, float> || std::same_as<T, double>) && prune_criterion<Criterion, T> &&
           prune_structure<Structure>
class pruner {
 public:
  using value_type = T;
  using criterion_type = Criterion;
  using structure_type = Structure;
  using options_type = pruner_options<Criterion, Structure>;

  /// Validates the options (the scope, the structure's parameters: n ≤ m, …).
  explicit pruner(options_type options = {}) : options_(std::move(options)) {
    if (options_.scope != scope::per_tensor && options_.scope != scope::global)
      pare::detail::fail_value(component, "scope", "per_tensor or global",
                               static_cast<int>(options_.scope));
    detail::validate_structure<Structure>();
  }
  pruner(pruner&&) noexcept = default;
  pruner& operator=(pruner&&) noexcept = default;
  pruner(const pruner&) = delete;
  pruner& operator=(const pruner&) = delete;
  ~pruner() = default;

  /// Registers a weight tensor, unmasked; returns its index. `aux` is the second input the
  /// criterion needs (`criterion.needs()`: the gradient for `sensitivity`, `movement` and
  /// `hessian{.estimate = true}`, the Hessian diagonal for `hessian{}`), read when scoring; it
  /// must have w's shape. Throws `pare::error` for a missing or mismatched `aux`, a shape the
  /// structure cannot split, or a tensor registered twice.
  std::size_t add(tensor_view<T> w, tensor_view<const T> aux = {}) {
    const input need = options_.criterion.needs();
    const bool given = aux.data() != nullptr;
    if (need != input::none && !given && w.size() > 0)
      pare::detail::fail_value(
          component, std::string(detail::input_name(need)),
          "given for this criterion: add(w, " + std::string(detail::input_name(need)) + ")",
          "none");
    if (given) pare::detail::require_same_shape(component, "w", w, "aux", aux);
    detail::validate_shape<Structure>(w, component, "w");
    if (w.size() > 0)
      for (const auto& e : entries_)
        if (e.w.data() == w.data())
          pare::detail::fail_value(component, "w", "a tensor not registered yet",
                                   "the data of tensor " + std::to_string(&e - entries_.data()));

    entry e;
    e.w = w;
    e.aux = aux;
    e.offset = total_;
    e.groups = detail::group_count<Structure>(w);
    e.group_offset = total_groups_;
    const auto n = static_cast<std::size_t>(w.size());
    e.mask = std::make_unique<std::uint8_t[]>(n);
    std::memset(e.mask.get(), 1, n);
    if (options_.criterion.accumulates()) e.state = std::make_unique<T[]>(n);  // zeroed
    if constexpr (grouped) {
      group_key_.resize(static_cast<std::size_t>(total_groups_ + e.groups));
      group_score_.resize(group_key_.size());
    }
    entries_.push_back(std::move(e));
    total_ += w.size();
    total_groups_ += entries_.back().groups;
    return entries_.size() - 1;
  }

  /// Sets the sparsity of every scope to `sparsity` (see the class comment): masks and zeroes
  /// exactly round(sparsity·n) weights, rows or blocks per scope. For `n_of_m<N, M>` the
  /// sparsity must be 1 − N/M (or 0, which unmasks everything). Throws `pare::error` for a
  /// sparsity outside [0, 1], or before the first `accumulate()` with a criterion that
  /// accumulates.
  void prune_to(double sparsity) {
    if (!(sparsity >= 0.0 && sparsity <= 1.0))
      pare::detail::fail_value(component, "sparsity", "in [0, 1]", sparsity);
    if constexpr (Structure::kind == structure_kind::n_of_m) {
      const double s = 1.0 - static_cast<double>(Structure::n) / Structure::m;
      if (sparsity != 0.0 && std::abs(sparsity - s) > 1e-9)
        pare::detail::fail_value(component, "sparsity",
                                 "0 or 1 - n/m = " + pare::detail::to_text(s) + " for " +
                                     detail::structure_name<Structure>(),
                                 sparsity);
    }
    check_accumulated();
    if constexpr (Structure::kind == structure_kind::n_of_m) {
      prune_n_of_m(sparsity != 0.0);
    } else if (options_.scope == scope::global) {
      const auto k = count_for(sparsity, grouped ? total_groups_ : total_);
      if constexpr (grouped) prune_groups(0, entries_.size(), k);
      else prune_elements(0, entries_.size(), k);
    } else {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        const auto k = count_for(sparsity, grouped ? entries_[i].groups : entries_[i].w.size());
        if constexpr (grouped) prune_groups(i, i + 1, k);
        else prune_elements(i, i + 1, k);
      }
    }
  }

  /// Re-zeroes every masked weight (after an update that did not go through a mask transform).
  /// One pass over the weights and masks; never allocates.
  void apply() noexcept {
    for (auto& e : entries_) {
      T* w = e.w.data();
      const std::uint8_t* m = e.mask.get();
      pare::detail::for_each_chunk(e.w.size(), pare::detail::chunk_elements,
                                   [&](std::int64_t b, std::int64_t x) {
                                     for (std::int64_t i = b; i < x; ++i)
                                       w[i] = m[i] ? w[i] : T(0);
                                   });
    }
  }

  /// Folds the current weights and second inputs into the criterion's accumulators (movement:
  /// S −= w·g; hessian{.estimate = true}: Σg²) and counts the call. Call it once per training
  /// step after the gradients are computed. A no-op (apart from the count) for criteria that do
  /// not accumulate.
  void accumulate() noexcept {
    if (options_.criterion.accumulates()) {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        auto& e = entries_[i];
        const auto in = inputs(i);
        T* state = e.state.get();
        pare::detail::for_each_chunk(e.w.size(), pare::detail::chunk_elements,
                                     [&](std::int64_t b, std::int64_t x) {
                                       options_.criterion.template accumulate<T>(in, state, b, x);
                                     });
      }
    }
    ++steps_;
  }

  /// Forgets every mask (all weights kept; their values are not restored).
  void reset() noexcept {
    for (auto& e : entries_) {
      std::memset(e.mask.get(), 1, static_cast<std::size_t>(e.w.size()));
      e.pruned = 0;
    }
  }

  /// Writes the criterion's score of every element of tensor i into `out` (w's shape).
  void score(std::size_t i, tensor_view<T> out) const {
    check_index(i);
    check_accumulated();
    pare::detail::require_same_shape(component, "w", entries_[i].w, "out", out);
    const auto in = inputs(i);
    for (std::int64_t j = 0; j < out.size(); ++j)
      out[j] = options_.criterion.template score<T>(in, j);
  }

  /// The mask of tensor i, shaped like it: 1 = kept, 0 = pruned. Valid for the pruner's life.
  [[nodiscard]] tensor_view<const std::uint8_t> mask(std::size_t i) const {
    check_index(i);
    const auto& e = entries_[i];
    return {e.mask.get(), e.w.shape()};
  }

  /// The mask of the registered tensor whose data starts at `param_data`, or an empty view
  /// when there is none: what an optimizer's mask transform asks for each parameter.
  [[nodiscard]] tensor_view<const std::uint8_t> mask_of(const T* param_data) const noexcept {
    for (const auto& e : entries_)
      if (e.w.data() == param_data && e.w.size() > 0) return {e.mask.get(), e.w.shape()};
    return {};
  }

  /// Fraction of all registered weights that are masked (0 when none are registered).
  [[nodiscard]] double sparsity() const noexcept {
    std::int64_t pruned = 0;
    for (const auto& e : entries_) pruned += e.pruned;
    return total_ == 0 ? 0.0 : static_cast<double>(pruned) / static_cast<double>(total_);
  }
  /// Fraction of tensor i's weights that are masked.
  [[nodiscard]] double sparsity(std::size_t i) const {
    check_index(i);
    const auto& e = entries_[i];
    return e.w.size() == 0 ? 0.0
                           : static_cast<double>(e.pruned) / static_cast<double>(e.w.size());
  }
  /// Number of masked weights of tensor i.
  [[nodiscard]] std::int64_t pruned(std::size_t i) const {
    check_index(i);
    return entries_[i].pruned;
  }

  /// Number of registered tensors.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  /// Number of `accumulate()` calls so far.
  [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }
  [[nodiscard]] const options_type& options() const noexcept { return options_; }

 private:
  static constexpr std::string_view component = "pare::prune::pruner";
  static constexpr bool grouped = Structure::kind == structure_kind::rows ||
                                  Structure::kind == structure_kind::blocks;
  using key = detail::key_type<T>;
  using group_key = std::uint64_t;  // group scores are summed in double

  struct entry {
    tensor_view<T> w;
    tensor_view<const T> aux;
    std::unique_ptr<std::uint8_t[]> mask;
    std::unique_ptr<T[]> state;
    std::int64_t offset = 0;        // first element in the numbering of all elements
    std::int64_t groups = 0;        // groups the structure ranks in this tensor
    std::int64_t group_offset = 0;  // first group in the numbering of all groups
    std::int64_t pruned = 0;        // masked weights
  };

  [[nodiscard]] score_inputs<T> inputs(std::size_t i) const noexcept {
    const auto& e = entries_[i];
    return {e.w.data(), e.aux.data(), e.state.get(), steps_, static_cast<std::uint64_t>(i)};
  }

  void check_index(std::size_t i) const {
    if (i >= entries_.size())
      pare::detail::fail_value(component, "i",
                               "less than the number of registered tensors (" +
                                   std::to_string(entries_.size()) + ")",
                               i);
  }

  void check_accumulated() const {
    if (options_.criterion.accumulates() && steps_ == 0)
      pare::detail::fail_value(component, "accumulate() calls",
                               "at least 1 before scoring with this criterion", 0);
  }

  /// round(s·n), half to even, as Python's round() in PyTorch's pruning.
  [[nodiscard]] static std::int64_t count_for(double s, std::int64_t n) noexcept {
    const auto k = static_cast<std::int64_t>(std::nearbyint(s * static_cast<double>(n)));
    return std::clamp<std::int64_t>(k, 0, n);
  }

  /// Scratch for per-thread, per-tensor counts of pruned weights (grown, never shrunk).
  std::int64_t* counts(int threads) {
    const auto need = static_cast<std::size_t>(threads) * entries_.size();
    if (counts_.size() < need) counts_.resize(need);
    std::fill(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(need), 0);
    return counts_.data();
  }
  void collect_counts(std::size_t first, std::size_t last, int threads) {
    for (std::size_t i = first; i < last; ++i) {
      std::int64_t c = 0;
      for (int t = 0; t < threads; ++t) c += counts_[static_cast<std::size_t>(t) * entries_.size() + i];
      entries_[i].pruned = c;
    }
  }

  /// Calls f(entry index, lo, hi) for the pieces of positions [b, e) of the numbering that
  /// starts at entry `first` (`start(i)`: where entry i starts, `length(i)`: its size).
  template <class Start, class Length, class F>
  void for_pieces(std::size_t first, std::size_t last, std::int64_t b, std::int64_t e,
                  Start start, Length length, F&& f) const {
    if (b >= e) return;
    const std::int64_t base = start(first);
    // the entry holding position b: the last one whose start is ≤ base + b
    std::size_t lo = first, hi = last;
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (start(mid) - base <= b) lo = mid;
      else hi = mid;
    }
    for (std::size_t i = lo; i < last && b < e; ++i) {
      const std::int64_t s = start(i) - base, len = length(i);
      const std::int64_t from = std::max<std::int64_t>(b - s, 0);
      const std::int64_t to = std::min<std::int64_t>(e - s, len);
      if (from < to) f(i, from, to);
      b = std::max(b, s + len);
    }
  }

  /// Unstructured: the k lowest (mask-first) element keys of entries [first, last).
  void prune_elements(std::size_t first, std::size_t last, std::int64_t k) {
    const auto start = [&](std::size_t i) { return entries_[i].offset; };
    const auto length = [&](std::size_t i) { return entries_[i].w.size(); };
    const std::int64_t n = (last == entries_.size() ? total_ : entries_[last].offset) -
                           entries_[first].offset;
    if (n == 0) return;
    const auto& crit = options_.criterion;
    const auto scan = [&](std::int64_t b, std::int64_t e, auto&& g) {
      key buf[detail::scan_block];
      for_pieces(first, last, b, e, start, length,
                 [&](std::size_t i, std::int64_t lo, std::int64_t hi) {
                   const auto in = inputs(i);
                   const std::uint8_t* m = entries_[i].mask.get();
                   for (std::int64_t j = lo; j < hi; j += detail::scan_block) {
                     const std::int64_t c = std::min(detail::scan_block, hi - j);
                     detail::element_keys(crit, in, m, j, c, buf);
                     g(static_cast<const key*>(buf), c);
                   }
                 });
    };
    select_and_write<key>(first, last, n, k, start, length, scan,
                          [&](std::size_t i, std::int64_t lo, std::int64_t hi, key cut,
                              std::int64_t& quota) {
                            return detail::write_elements(crit, inputs(i), entries_[i].mask.get(),
                                                          entries_[i].w.data(), lo, hi, cut,
                                                          quota);
                          });
  }

  /// Selects the k lowest of the n keys `scan` produces for entries [first, last) (numbered
  /// by `start` and `length`), then lets `write(i, lo, hi, cut, quota)` write the masks of
  /// entry i's positions [lo, hi) and return how many it pruned, slice by slice.
  template <class Key, class Start, class Length, class Scan, class Write>
  void select_and_write(std::size_t first, std::size_t last, std::int64_t n, std::int64_t k,
                        Start start, Length length, const Scan& scan, Write write) {
    const int threads = detail::threads_for(n);
    const Key cut = detail::select_lowest<Key>(n, k, threads, scan, scratch_);
    std::int64_t* cnt = counts(threads);
    detail::for_threads(threads, [&](int t) {
      std::int64_t quota = scratch_.quota[static_cast<std::size_t>(t)];
      for_pieces(first, last, detail::slice_begin(n, t, threads),
                 detail::slice_begin(n, t + 1, threads), start, length,
                 [&](std::size_t i, std::int64_t lo, std::int64_t hi) {
                   cnt[static_cast<std::size_t>(t) * entries_.size() + i] +=
                       write(i, lo, hi, cut, quota);
                 });
    });
    collect_counts(first, last, threads);
  }

  /// The element score folded into a group score: a sum of |s|^P (the Lp norm without its
  /// root: same order), or of s itself for signed criteria.
  template <int P>
  [[nodiscard]] static double fold(T s) noexcept {
    if constexpr (Criterion::signed_scores) return static_cast<double>(s);
    else if constexpr (P == 1) return std::abs(static_cast<double>(s));
    else if constexpr (P == 2) return static_cast<double>(s) * static_cast<double>(s);
    else return std::pow(std::abs(static_cast<double>(s)), P);
  }

  /// Scores of the groups (rows or blocks) of entry i into group_key_, masked groups first.
  void score_groups(std::size_t i) {
    const auto& e = entries_[i];
    const auto in = inputs(i);
    const auto& crit = options_.criterion;
    const std::uint8_t* m = e.mask.get();
    group_key* out = group_key_.data() + e.group_offset;
    double* acc = group_score_.data() + e.group_offset;
    const std::int64_t cols = e.w.cols();
    if constexpr (Structure::kind == structure_kind::rows) {
      const std::int64_t rows = e.groups;
      const int threads = detail::threads_for(e.w.size());
      detail::for_threads(threads, [&](int t) {
        for (std::int64_t r = detail::slice_begin(rows, t, threads),
                          re = detail::slice_begin(rows, t + 1, threads);
             r < re; ++r) {
          double a = 0;
          for (std::int64_t j = r * cols; j < (r + 1) * cols; ++j)
            a += fold<Structure::p>(crit.template score<T>(in, j));
          acc[r] = a;
          out[r] = (cols == 0 || m[r * cols]) ? detail::order_key(a) : group_key(0);
        }
      });
    } else {  // blocks: R×C tiles, L2
      constexpr std::int64_t R = Structure::r, C = Structure::c;
      const std::int64_t per_row = cols / C, block_rows = e.w.rows() / R;
      const int threads = detail::threads_for(e.w.size());
      detail::for_threads(threads, [&](int t) {
        for (std::int64_t br = detail::slice_begin(block_rows, t, threads),
                          be = detail::slice_begin(block_rows, t + 1, threads);
             br < be; ++br) {
          double* a = acc + br * per_row;
          std::fill(a, a + per_row, 0.0);
          for (std::int64_t r = br * R; r < (br + 1) * R; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
              a[c / C] += fold<2>(crit.template score<T>(in, r * cols + c));
          for (std::int64_t b = 0; b < per_row; ++b)
            out[br * per_row + b] =
                m[br * R * cols + b * C] ? detail::order_key(a[b]) : group_key(0);
        }
      });
    }
  }

  /// Writes the decision for group g (local to entry i) into the masks and weights.
  void write_group(std::size_t i, std::int64_t g, bool keep) noexcept {
    auto& e = entries_[i];
    const std::int64_t cols = e.w.cols();
    std::uint8_t* m = e.mask.get();
    T* w = e.w.data();
    const auto fill = [&](std::int64_t from, std::int64_t len) {
      std::memset(m + from, keep ? 1 : 0, static_cast<std::size_t>(len));
      if (!keep) std::fill(w + from, w + from + len, T(0));
    };
    if constexpr (Structure::kind == structure_kind::rows) {
      fill(g * cols, cols);
    } else {
      constexpr std::int64_t R = Structure::r, C = Structure::c;
      const std::int64_t per_row = cols / C, br = g / per_row, bc = g % per_row;
      for (std::int64_t r = br * R; r < (br + 1) * R; ++r) fill(r * cols + bc * C, C);
    }
  }

  /// Rows or blocks: the k lowest group keys of entries [first, last).
  void prune_groups(std::size_t first, std::size_t last, std::int64_t k) {
    for (std::size_t i = first; i < last; ++i) score_groups(i);
    const auto start = [&](std::size_t i) { return entries_[i].group_offset; };
    const auto length = [&](std::size_t i) { return entries_[i].groups; };
    const std::int64_t g0 = entries_[first].group_offset;
    const std::int64_t n =
        (last == entries_.size() ? total_groups_ : entries_[last].group_offset) - g0;
    if (n == 0) return;
    const group_key* keys = group_key_.data() + g0;
    const auto scan = [&](std::int64_t b, std::int64_t e, auto&& g) {
      for (std::int64_t j = b; j < e; j += detail::scan_block)
        g(keys + j, std::min(detail::scan_block, e - j));
    };
    select_and_write<group_key>(
        first, last, n, k, start, length, scan,
        [&](std::size_t i, std::int64_t lo, std::int64_t hi, group_key cut, std::int64_t& quota) {
          const auto& e = entries_[i];
          const std::int64_t size = e.groups == 0 ? 0 : e.w.size() / e.groups;
          std::int64_t pruned = 0;
          for (std::int64_t g = lo; g < hi; ++g) {
            const group_key kg = keys[e.group_offset - g0 + g];
            const bool keep = kg > cut || (kg == cut && quota == 0);
            quota -= kg == cut && quota > 0;
            write_group(i, g, keep);
            pruned += keep ? 0 : size;
          }
          return pruned;
        });
  }

  /// n_of_m: in every group of M consecutive weights, mask the M − N lowest (mask-first) keys,
  /// equal keys in order of position; or unmask everything.
  void prune_n_of_m(bool prune) {
    constexpr int N = Structure::n, M = std::max(Structure::m, 1);  // m ≥ 1 is validated
    const auto& crit = options_.criterion;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      auto& e = entries_[i];
      std::uint8_t* m = e.mask.get();
      T* w = e.w.data();
      if (!prune) {
        std::memset(m, 1, static_cast<std::size_t>(e.w.size()));
        e.pruned = 0;
        continue;
      }
      const auto in = inputs(i);
      const std::int64_t groups = e.groups;
      pare::detail::for_each_chunk(groups, pare::detail::chunk_elements / M,
                                   [&](std::int64_t gb, std::int64_t ge) {
        std::array<key, M> k;
        for (std::int64_t g = gb; g < ge; ++g) {
          const std::int64_t base = g * M;
          for (int j = 0; j < M; ++j) {
            const key kj = detail::order_key(crit.template score<T>(in, base + j));
            k[j] = m[base + j] ? kj : key(0);
          }
          for (int j = 0; j < M; ++j) {
            int rank = 0;  // position of j in (key, index) order
            for (int l = 0; l < M; ++l) rank += (k[l] < k[j]) || (k[l] == k[j] && l < j);
            const bool keep = rank >= M - N;
            m[base + j] = keep;
            w[base + j] = keep ? w[base + j] : T(0);
          }
        }
      });
      e.pruned = groups * (M - N);
    }
  }

  options_type options_;
  std::vector<entry> entries_;
  std::int64_t total_ = 0;         // registered weights
  std::int64_t total_groups_ = 0;  // registered groups (rows, blocks, …)
  std::int64_t steps_ = 0;         // accumulate() calls
  std::vector<group_key> group_key_;   // rows, blocks: one key per group
  std::vector<double> group_score_;    // rows, blocks: one score per group
  std::vector<std::int64_t> counts_;
  detail::select_scratch scratch_;
};

}  // namespace pare::prune
