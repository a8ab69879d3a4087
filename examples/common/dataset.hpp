#pragma once
/// \file
/// A labelled dataset in one contiguous buffer, and the seeded permutations that shuffle it.
///
/// Inputs are a row-major `[size, features]` buffer that `pare::tensor_view` and Eigen maps can
/// wrap without copies; labels are class indices. Shuffling is reproducible everywhere: it uses
/// `std::mt19937_64`, whose output the C++ standard fixes, and its own bounded draw (the standard
/// distributions are implementation-defined), so a seed gives the same data order on every
/// compiler and standard library.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <pare/core/tensor_view.hpp>

namespace pare_examples {

/// Inputs `[size, features]` (row-major) with one class label per row.
template <class T>
struct dataset {
  std::int64_t features = 0;
  std::vector<T> x;
  std::vector<std::int64_t> y;

  [[nodiscard]] std::int64_t size() const noexcept { return static_cast<std::int64_t>(y.size()); }
  /// The inputs as a `[size, features]` view.
  [[nodiscard]] pare::tensor_view<const T> inputs() const {
    return pare::tensor_view<const T>(x.data(), {size(), features});
  }
  /// Row `i` of the inputs.
  [[nodiscard]] std::span<const T> row(std::int64_t i) const {
    return {x.data() + i * features, static_cast<std::size_t>(features)};
  }
  /// A new dataset holding the given rows, in that order.
  [[nodiscard]] dataset subset(std::span<const std::int64_t> rows) const {
    dataset d;
    d.features = features;
    d.x.resize(rows.size() * static_cast<std::size_t>(features));
    d.y.resize(rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const auto r = row(rows[k]);
      std::copy(r.begin(), r.end(), d.x.begin() + static_cast<std::ptrdiff_t>(k * r.size()));
      d.y[k] = y[static_cast<std::size_t>(rows[k])];
    }
    return d;
  }
  /// The first `n` rows (all of them when `n` ≥ size()).
  [[nodiscard]] dataset head(std::int64_t n) const {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(std::min(n, size())));
    std::iota(rows.begin(), rows.end(), std::int64_t{0});
    return subset(rows);
  }
};

/// Fills `p` with a uniformly random permutation of 0 … p.size()−1, a pure function of
/// (p.size(), seed) (Fisher–Yates). No allocation.
inline void permute(std::span<std::int64_t> p, std::uint64_t seed) noexcept {
  std::iota(p.begin(), p.end(), std::int64_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = p.size(); i-- > 1;) {
    // A draw in [0, i]; the modulo's bias, below i / 2^64, is immaterial here.
    const std::size_t j = static_cast<std::size_t>(rng() % (i + 1));
    std::swap(p[i], p[j]);
  }
}

/// A uniformly random permutation of 0 … n−1, a pure function of (n, seed).
[[nodiscard]] inline std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  permute(p, seed);
  return p;
}

/// Splits `d` at random into (rest, held_out) with `held_out_size` rows held out, e.g. a
/// validation set carved from the training set. Both keep the original relative row order.
template <class T>
[[nodiscard]] std::pair<dataset<T>, dataset<T>> split_off(const dataset<T>& d,
                                                          std::int64_t held_out_size,
                                                          std::uint64_t seed) {
  if (held_out_size < 0 || held_out_size > d.size())
    throw std::invalid_argument("split_off: held_out_size must be in [0, " +
                                std::to_string(d.size()) + "], got " +
                                std::to_string(held_out_size));
  const auto p = permutation(d.size(), seed);
  std::vector<std::int64_t> held(p.begin(), p.begin() + held_out_size);
  std::vector<std::int64_t> rest(p.begin() + held_out_size, p.end());
  std::sort(held.begin(), held.end());
  std::sort(rest.begin(), rest.end());
  return {d.subset(rest), d.subset(held)};
}

/// Mini-batches over `size` rows in a fresh seeded order every epoch: the order of epoch e is
/// a permutation seeded by (seed, e), so runs with the same seed see the same batches and a
/// resumed run can regenerate any epoch. The last batch of an epoch may be smaller.
class batcher {
 public:
  batcher(std::int64_t size, std::int64_t batch_size, std::uint64_t seed)
      : size_(size), batch_(batch_size), seed_(seed) {
    if (size < 1)
      throw std::invalid_argument("batcher: size must be at least 1, got " + std::to_string(size));
    if (batch_size < 1)
      throw std::invalid_argument("batcher: batch_size must be at least 1, got " +
                                  std::to_string(batch_size));
    order_.resize(static_cast<std::size_t>(size));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
  }

  /// Shuffles for epoch `epoch` (0, 1, …).
  void start_epoch(std::int64_t epoch) {
    permute(order_, seed_ ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(epoch + 1)));
  }
  /// Batches per epoch: ceil(size / batch_size).
  [[nodiscard]] std::int64_t batches() const noexcept { return (size_ + batch_ - 1) / batch_; }
  /// The dataset rows of batch `b` of the current epoch.
  [[nodiscard]] std::span<const std::int64_t> rows(std::int64_t b) const noexcept {
    const std::int64_t begin = b * batch_, end = std::min(size_, begin + batch_);
    return {order_.data() + begin, static_cast<std::size_t>(end - begin)};
  }
  [[nodiscard]] std::int64_t batch_size() const noexcept { return batch_; }
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }

 private:
  std::int64_t size_, batch_;
  std::uint64_t seed_;
  std::vector<std::int64_t> order_;
};

/// Copies the inputs of `rows` into `x_out` (row-major `[rows.size(), features]`) and their labels
/// into `y_out`, both sized by the caller (no allocation here).
template <class T>
void gather(const dataset<T>& d, std::span<const std::int64_t> rows, std::span<T> x_out,
            std::span<std::int64_t> y_out) noexcept {
  const auto f = static_cast<std::size_t>(d.features);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const T* src = d.x.data() + static_cast<std::size_t>(rows[k]) * f;
    std::copy(src, src + f, x_out.data() + k * f);
    y_out[k] = d.y[static_cast<std::size_t>(rows[k])];
  }
}

}  // namespace pare_examples
