#pragma once
/// \file
/// `pare::tensor_view<T>`: a non-owning view of contiguous row-major memory with a shape.
///
/// Every pare component works on memory the user owns. A view is a pointer and a shape
/// (rank 0 to 8), trivially copyable and cheap to pass by value. It never owns: the memory
/// must outlive the view and any state (an optimizer, a pruner) registered with it.
///
///     std::vector<float> w(256 * 784);
///     pare::tensor_view<float> wv(w.data(), {256, 784});   // [out, in], row-major
///     wv.matrix() *= 0.5f;                                  // Eigen map, no copy
///     pare::tensor_view<const float> cv = wv;               // const view of the same memory

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "pare/core/error.hpp"

namespace pare {

template <class T>
class tensor_view;

namespace detail {
inline constexpr std::string_view view_component = "pare::tensor_view";
}

/// A non-owning, const-correct view of contiguous row-major memory with up to 8 extents.
///
/// `T` is an arithmetic type, possibly const (`tensor_view<const float>`); a
/// `tensor_view<float>` converts implicitly to `tensor_view<const float>`. A default-constructed
/// view is empty (rank 1, shape [0]). Axis 0 is the output-channel axis of an `[out, in]` weight.
template <class T>
class tensor_view {
  static_assert(std::is_arithmetic_v<std::remove_cv_t<T>>,
                "pare::tensor_view<T>: T must be an arithmetic type such as float or double");
  static_assert(!std::is_volatile_v<T>, "pare::tensor_view<T>: T must not be volatile");

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using index_type = std::int64_t;
  /// The largest rank a view can have.
  static constexpr int max_rank = 8;

  using array_map = Eigen::Map<
      std::conditional_t<std::is_const_v<T>, const Eigen::Array<value_type, Eigen::Dynamic, 1>,
                         Eigen::Array<value_type, Eigen::Dynamic, 1>>>;
  using matrix_map = Eigen::Map<std::conditional_t<
      std::is_const_v<T>,
      const Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
      Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>>;

  /// An empty view: rank 1, shape [0], no data.
  constexpr tensor_view() noexcept = default;

  /// Views `data` with the given shape (row-major). Throws `pare::error` for a negative extent,
  /// a rank above 8, a size that overflows, or a null pointer with a non-zero size.
  tensor_view(T* data, std::initializer_list<index_type> shape)
      : tensor_view(data, std::span<const index_type>(shape.begin(), shape.size())) {}

  /// Views `data` with the shape given as a span of extents.
  tensor_view(T* data, std::span<const index_type> shape) : data_(data) {
    set_shape(shape);
    if (data_ == nullptr && size_ != 0)
      detail::fail(detail::view_component,
                   "data is null but shape " + detail::to_text(shape) + " has " +
                       detail::to_text(size_) + " elements");
  }

  /// A 1-D view of a span.
  constexpr tensor_view(std::span<T> s) noexcept  // NOLINT(google-explicit-constructor)
      : data_(s.data()), size_(static_cast<index_type>(s.size())), rank_(1) {
    shape_[0] = size_;
  }

  /// Views a span with a shape; the shape's size must equal the span's.
  tensor_view(std::span<T> s, std::initializer_list<index_type> shape)
      : tensor_view(s.data(), shape) {
    check_size(s.size());
  }

  /// A 1-D view of a vector's elements (the vector must outlive the view).
  tensor_view(std::vector<value_type>& v) noexcept  // NOLINT(google-explicit-constructor)
    requires(!std::is_const_v<T>)
      : tensor_view(std::span<T>(v)) {}
  tensor_view(const std::vector<value_type>& v) noexcept  // NOLINT(google-explicit-constructor)
    requires(std::is_const_v<T>)
      : tensor_view(std::span<T>(v)) {}
  /// A vector with a shape; the shape's size must equal the vector's.
  tensor_view(std::vector<value_type>& v, std::initializer_list<index_type> shape)
    requires(!std::is_const_v<T>)
      : tensor_view(std::span<T>(v), shape) {}
  tensor_view(const std::vector<value_type>& v, std::initializer_list<index_type> shape)
    requires(std::is_const_v<T>)
      : tensor_view(std::span<T>(v), shape) {}
  /// A view of a temporary vector would dangle at the end of the full expression.
  tensor_view(std::vector<value_type>&&) = delete;
  tensor_view(std::vector<value_type>&&, std::initializer_list<index_type>) = delete;

  /// `tensor_view<T>` → `tensor_view<const T>`.
  template <class U>
    requires(std::is_const_v<T> && std::is_same_v<U, value_type>)
  constexpr tensor_view(const tensor_view<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data()), size_(other.size()), rank_(other.rank()) {
    for (int i = 0; i < rank_; ++i) shape_[i] = other.extent(i);
  }

  /// Pointer to the first element.
  [[nodiscard]] constexpr T* data() const noexcept { return data_; }
  /// Number of elements (the product of the extents; 1 for rank 0).
  [[nodiscard]] constexpr index_type size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] constexpr int rank() const noexcept { return rank_; }
  /// The extents, outermost first.
  [[nodiscard]] constexpr std::span<const index_type> shape() const noexcept {
    return {shape_.data(), static_cast<std::size_t>(rank_)};
  }
  /// Extent of axis `i`, 0 ≤ i < rank() (unchecked).
  [[nodiscard]] constexpr index_type extent(int i) const noexcept { return shape_[i]; }
  /// Rows of the 2-D interpretation: extent(0) for rank ≥ 2, the size for rank 1, 1 for rank 0.
  [[nodiscard]] constexpr index_type rows() const noexcept {
    return rank_ == 0 ? 1 : shape_[0];
  }
  /// Columns of the 2-D interpretation: the product of the extents after axis 0 (1 for rank ≤ 1).
  [[nodiscard]] constexpr index_type cols() const noexcept {
    index_type c = 1;
    for (int i = 1; i < rank_; ++i) c *= shape_[i];
    return c;
  }

  /// Element at flat (row-major) index `i` (unchecked).
  [[nodiscard]] constexpr T& operator[](index_type i) const noexcept { return data_[i]; }
  /// Element at a multi-index, one index per axis (unchecked).
  template <std::integral... I>
  [[nodiscard]] constexpr T& operator()(I... idx) const noexcept {
    index_type flat = 0;
    int axis = 0;
    ((flat = flat * shape_[axis++] + static_cast<index_type>(idx)), ...);
    return data_[flat];
  }

  /// The elements as a flat Eigen array map (vectorized element-wise work).
  [[nodiscard]] array_map array() const noexcept { return array_map(data_, size_); }
  /// The elements as a row-major `rows() × cols()` Eigen matrix map: an `[out, in]` weight is
  /// out × in; a rank-1 view is a column vector; trailing axes of rank > 2 are flattened.
  [[nodiscard]] matrix_map matrix() const noexcept { return matrix_map(data_, rows(), cols()); }

  /// The same memory with another shape of the same size; throws `pare::error` otherwise.
  [[nodiscard]] tensor_view reshape(std::initializer_list<index_type> shape) const {
    return reshape(std::span<const index_type>(shape.begin(), shape.size()));
  }
  [[nodiscard]] tensor_view reshape(std::span<const index_type> shape) const {
    tensor_view v = *this;
    v.set_shape(shape);
    if (v.size_ != size_)
      detail::fail(detail::view_component, "cannot reshape " + detail::to_text(this->shape()) +
                                               " (" + detail::to_text(size_) + " elements) to " +
                                               detail::to_text(shape) + " (" +
                                               detail::to_text(v.size_) + " elements)");
    return v;
  }
  /// The same memory as a 1-D view.
  [[nodiscard]] constexpr tensor_view flat() const noexcept {
    tensor_view v = *this;
    v.rank_ = 1;
    v.shape_[0] = size_;
    return v;
  }
  /// Sub-tensor `i` along axis 0 (rank − 1; an element of a 1-D view becomes rank 0).
  /// Throws `pare::error` for a rank-0 view or an index out of range.
  [[nodiscard]] tensor_view slice(index_type i) const {
    if (rank_ == 0) detail::fail(detail::view_component, "cannot slice a rank-0 view");
    detail::require(i >= 0 && i < shape_[0], detail::view_component, "slice index",
                    "in [0, " + detail::to_text(shape_[0]) + ")", i);
    tensor_view v;
    v.rank_ = rank_ - 1;
    for (int a = 1; a < rank_; ++a) v.shape_[a - 1] = shape_[a];
    v.size_ = rank_ == 1 ? 1 : cols();
    v.data_ = data_ + i * v.size_;
    return v;
  }

 private:
  void set_shape(std::span<const index_type> shape) {
    if (shape.size() > static_cast<std::size_t>(max_rank))
      detail::fail_value(detail::view_component, "rank", "at most 8", shape.size());
    rank_ = static_cast<int>(shape.size());
    index_type n = 1;
    for (int i = 0; i < rank_; ++i) {
      const index_type e = shape[i];
      if (e < 0)
        detail::fail(detail::view_component,
                     "extents must be non-negative, got shape " + detail::to_text(shape));
      if (e != 0 && n > INT64_MAX / e)
        detail::fail(detail::view_component,
                     "the size of shape " + detail::to_text(shape) + " overflows std::int64_t");
      n *= e;
      shape_[i] = e;
    }
    for (int i = rank_; i < max_rank; ++i) shape_[i] = 0;
    size_ = n;
  }
  void check_size(std::size_t available) const {
    if (static_cast<std::size_t>(size_) != available)
      detail::fail(detail::view_component,
                   "size mismatch: shape " + detail::to_text(shape()) + " has " +
                       detail::to_text(size_) + " elements but the memory holds " +
                       detail::to_text(available));
  }

  T* data_ = nullptr;
  index_type size_ = 0;
  int rank_ = 1;
  std::array<index_type, max_rank> shape_{};
};

template <class T>
tensor_view(T*, std::initializer_list<std::int64_t>) -> tensor_view<T>;
template <class T>
tensor_view(std::vector<T>&) -> tensor_view<T>;
template <class T>
tensor_view(const std::vector<T>&) -> tensor_view<const T>;
template <class T, std::size_t N>
tensor_view(std::span<T, N>) -> tensor_view<T>;

static_assert(std::is_trivially_copyable_v<tensor_view<float>>);
static_assert(std::is_trivially_copyable_v<tensor_view<const double>>);

/// True when both views have the same rank and extents.
template <class A, class B>
[[nodiscard]] constexpr bool same_shape(const tensor_view<A>& a, const tensor_view<B>& b) noexcept {
  return std::ranges::equal(a.shape(), b.shape());
}

namespace detail {

/// Throws `<component>: <b_name> must have the shape of <a_name> <shape>, got <shape>`.
template <class A, class B>
void require_same_shape(std::string_view component, std::string_view a_name,
                        const tensor_view<A>& a, std::string_view b_name,
                        const tensor_view<B>& b) {
  if (!same_shape(a, b)) {
    std::string m;
    m.append(b_name).append(" must have the shape of ").append(a_name).append(" ");
    m.append(to_text(a.shape())).append(", got ").append(to_text(b.shape()));
    fail(component, m);
  }
}

template <class D>
inline constexpr bool is_eigen_plain_object = std::is_base_of_v<Eigen::PlainObjectBase<D>, D>;

}  // namespace detail

/// Anything `pare::view` accepts: an Eigen matrix, array, map or block with direct memory access.
template <class X>
concept eigen_dense = std::is_base_of_v<Eigen::DenseBase<std::remove_cvref_t<X>>,
                                        std::remove_cvref_t<X>>;

/// Views the memory of a row-major Eigen matrix, a vector, an array, a map or a contiguous
/// block (vectors are 1-D, others `[rows, cols]`). A const object gives a `tensor_view<const T>`.
/// A column-major matrix type is a compile error (its memory is not row-major); a block that
/// is not contiguous is a `pare::error`; a temporary matrix is rejected because the view would
/// dangle.
template <eigen_dense X>
[[nodiscard]] auto view(X&& x) {
  using D = std::remove_cvref_t<X>;
  static_assert(!(std::is_rvalue_reference_v<X&&> && detail::is_eigen_plain_object<D>),
                "pare::view: cannot view a temporary Eigen matrix or array: the view would "
                "dangle; keep the object in a variable and view that");
  static_assert(bool(D::Flags & Eigen::DirectAccessBit),
                "pare::view: this Eigen expression has no memory of its own; evaluate it into a "
                "Matrix or Array first");
  static_assert(D::IsVectorAtCompileTime || D::IsRowMajor,
                "pare::view: the Eigen matrix is column-major, and pare views are row-major; "
                "use Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>");
  auto* p = x.data();
  using T = std::remove_pointer_t<decltype(p)>;
  using E = std::conditional_t<std::is_const_v<std::remove_reference_t<X>>, const T, T>;
  const auto n = static_cast<std::int64_t>(x.size());
  if constexpr (D::IsVectorAtCompileTime) {
    if (n > 1 && x.innerStride() != 1)
      detail::fail("pare::view", "the Eigen vector is not contiguous (inner stride " +
                                     detail::to_text(std::int64_t{x.innerStride()}) + ")");
    return tensor_view<E>(p, {n});
  } else {
    const auto r = static_cast<std::int64_t>(x.rows()), c = static_cast<std::int64_t>(x.cols());
    if ((c > 1 && x.innerStride() != 1) || (r > 1 && x.outerStride() != c))
      detail::fail("pare::view", "the Eigen block is not contiguous (inner stride " +
                                     detail::to_text(std::int64_t{x.innerStride()}) +
                                     ", outer stride " +
                                     detail::to_text(std::int64_t{x.outerStride()}) + " for " +
                                     detail::to_text(c) + " columns)");
    return tensor_view<E>(p, {r, c});
  }
}

}  // namespace pare
