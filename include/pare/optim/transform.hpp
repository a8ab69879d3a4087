#pragma once
/// \file
/// The gradient-transform protocol: what a step of an optimizer is made of.
///
/// An optimizer in pare is a chain of transforms over the update stream (Optax's idea, Babuschkin
/// et al., 2020): the update of a parameter starts as its gradient, every transform rewrites it,
/// and what comes out of the last one is added to the parameter. `scale_by_adam` turns gradients
/// into Adam directions, `scale_by_learning_rate` multiplies by −lr, `clip_by_global_norm`
/// rescales, `keep_mask` zeroes pruned weights...
///
/// A transform is an aggregate of options plus member templates the optimizer calls:
///
/// | member | when | required |
/// |---|---|---|
/// | `static constexpr std::string_view name` | errors, saved kinds | yes |
/// | `void validate() const` | construction and `add` | yes |
/// | `template <class T> struct state` + `state<T> init(const param_step<T>&) const` | `add`: per-parameter state (buffers allocated here, once) | if stateful |
/// | `struct scalars` + `scalars prepare(const param_step<T>&) const` (stateless) or `prepare(state<T>&, const param_step<T>&) const` (stateful; advances counters, must not throw) | once per parameter per step, before its chunks | if it has per-step values |
/// | `kernel([scalars,] [state<T>&,] std::int64_t begin) const` → a callable `T(T u, T p, std::int64_t i)` (or a `std::variant` of such) | per chunk: the element-wise form, fused with its neighbours into one loop; `i` counts from `begin` | this or `update` |
/// | `void update(chunk<T>&[, const scalars&][, state<T>&]) const` | per chunk, on the update scratch, for transforms that are not element-wise | this or `kernel` |
/// | `double scale_factor([const scalars&]) const` | a pure scale u ← f·u: folded into the gradient read or the parameter write | no |
/// | `void check(const param_step<T>&) const` | `add`: reject a parameter (throws) | no |
/// | `void reset(state<T>&, std::int64_t begin, std::int64_t n, const std::uint8_t* mask) const` | after each chunk when the chain holds a mask: set the state of masked elements to its initial value | if stateful and used with `keep_mask` |
/// | `void save(detail::state_writer&, const state<T>&) const`, `void load(detail::state_reader&, state<T>&) const` | `save`/`load` | if stateful and saved |
///
/// Element kernels are how the whole chain becomes one loop: for each element the optimizer
/// reads the gradient, passes it through every transform's kernel, and writes the parameter,
/// touching each state buffer once. A kernel may be a `std::variant` of callables when the
/// options pick different loops (AMSGrad or not); the optimizer instantiates one fused loop per
/// combination and picks it once per chunk.
///
/// A *global* transform needs a value computed over every parameter before the step (a norm, a
/// non-finite check). It has no per-parameter state and declares `struct partial` (a
/// per-chunk partial result, value-initialized as the identity), `struct status` (kept by the
/// optimizer between steps, readable by the user, saved), and
/// `void reduce(partial&, const chunk<T>&) const`, `void combine(partial&, const partial&) const`,
/// `bool finish(const partial&, status&, scalars&) const` (false skips the whole step). The
/// optimizer makes one extra pass over the gradients for it, in which the transforms before it
/// run as well; those must therefore be stateless.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "pare/core/serialize.hpp"
#include "pare/core/tensor_view.hpp"

namespace pare::optim {

namespace detail {
// pare's shared helpers (fail, require, to_text, state_writer, ...) read as `detail::` here too.
using namespace pare::detail;  // NOLINT(google-build-using-namespace)
}  // namespace detail

/// What a transform knows about one parameter when a step starts (and at `add`).
template <class T>
struct param_step {
  /// Completed steps of the optimizer before this one: 0 during the first step. Schedules are
  /// read at this count, so the first step uses s(0).
  std::int64_t step = 0;
  /// The parameter's position in registration order.
  std::size_t index = 0;
  /// The parameter, before this step.
  tensor_view<const T> param;
  /// Its gradient.
  tensor_view<const T> grad;
};

/// One cache-sized piece of one parameter, as a transform sees it during the fused pass.
template <class T>
struct chunk {
  using array = Eigen::Array<T, Eigen::Dynamic, 1>;
  /// Map of optimizer-owned memory (the update scratch and state buffers are 64-byte aligned).
  using map = Eigen::Map<array, Eigen::Aligned64>;
  /// Map of the user's memory.
  using const_map = Eigen::Map<const array>;

  /// The update so far. It starts as the gradient; after the last transform it is added to the
  /// parameter (updates carry their sign: a descent step is negative).
  map u;
  /// The parameter's values before this step.
  const_map p;
  /// Offset of the chunk in the parameter, and so in every per-parameter state buffer.
  std::int64_t begin = 0;
  /// The parameter's position in registration order.
  std::size_t index = 0;

  [[nodiscard]] std::int64_t size() const noexcept { return u.size(); }
};

namespace detail {

inline constexpr std::size_t buffer_alignment = 64;

/// Allocator handing out 64-byte aligned memory, so state buffers line up with vector registers.
template <class V>
struct aligned_allocator {
  using value_type = V;
  aligned_allocator() noexcept = default;
  template <class U>
  aligned_allocator(const aligned_allocator<U>&) noexcept {}  // NOLINT
  V* allocate(std::size_t n) {
    return static_cast<V*>(::operator new(n * sizeof(V), std::align_val_t{buffer_alignment}));
  }
  void deallocate(V* p, std::size_t) noexcept {
    ::operator delete(p, std::align_val_t{buffer_alignment});
  }
  template <class U>
  bool operator==(const aligned_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace detail

/// A per-parameter state buffer: one value per element of the parameter, 64-byte aligned,
/// filled with an initial value when it is made (at `add`), never reallocated by a step.
template <class T>
class state_buffer {
 public:
  state_buffer() = default;
  explicit state_buffer(std::int64_t n, T initial = T(0))
      : data_(static_cast<std::size_t>(n), initial) {}

  [[nodiscard]] bool empty() const noexcept { return data_.empty(); }
  [[nodiscard]] std::int64_t size() const noexcept {
    return static_cast<std::int64_t>(data_.size());
  }
  [[nodiscard]] T* data() noexcept { return data_.data(); }
  [[nodiscard]] const T* data() const noexcept { return data_.data(); }
  /// The elements of `c` (aligned: chunks start at multiples of the chunk size).
  [[nodiscard]] typename chunk<T>::map of(const chunk<T>& c) noexcept {
    return typename chunk<T>::map(data_.data() + c.begin, c.size());
  }
  void save(pare::detail::state_writer& w) const { w.values(data(), size()); }
  void load(pare::detail::state_reader& r) { r.values(data(), size()); }

 private:
  std::vector<T, detail::aligned_allocator<T>> data_;
};

namespace detail {
/// Sets `buffer` to `value` where the mask byte is 0 (state reset for pruned weights).
template <class T>
void reset_masked(state_buffer<T>& buffer, std::int64_t begin, std::int64_t n,
                  const std::uint8_t* mask, T value = T(0)) {
  if (buffer.empty()) return;
  T* b = buffer.data() + begin;
  for (std::int64_t i = 0; i < n; ++i) b[i] = mask[i] ? b[i] : value;
}
}  // namespace detail

namespace detail {

/// Σ f(x_i) over n values in 16 independent lanes, so the loop vectorizes without reordering a
/// single sum (and without Eigen's reductions, whose AVX-512 code trips GCC 12 warnings).
template <class T, class F>
double lanewise_sum(const T* x, std::int64_t n, F f) {
  constexpr int lanes = 16;
  T acc[lanes] = {};
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int j = 0; j < lanes; ++j) acc[j] += f(x[i + j]);
  for (int j = 0; i < n; ++i, ++j) acc[j] += f(x[i]);
  double s = 0;
  for (T a : acc) s += static_cast<double>(a);
  return s;
}

struct none {};

template <class X, class T>
concept has_state = requires { typename X::template state<T>; };
template <class X>
concept has_scalars = requires { typename X::scalars; };
template <class X>
concept is_global = requires { typename X::partial; typename X::status; };

// X's member types, or `none` when X does not declare them (the members are only named when
// present: std::conditional_t picks the holder, and only the chosen one's ::type is formed).
template <class X, class T>
struct state_member {
  using type = typename X::template state<T>;
};
template <class X>
struct scalars_member {
  using type = typename X::scalars;
};
template <class X>
struct partial_member {
  using type = typename X::partial;
};
template <class X>
struct status_member {
  using type = typename X::status;
};
template <class X, class T>
using state_of = std::conditional_t<has_state<X, T>, state_member<X, T>, std::type_identity<none>>;
template <class X>
using scalars_of = std::conditional_t<has_scalars<X>, scalars_member<X>, std::type_identity<none>>;
template <class X>
using partial_of = std::conditional_t<is_global<X>, partial_member<X>, std::type_identity<none>>;
template <class X>
using status_of = std::conditional_t<is_global<X>, status_member<X>, std::type_identity<none>>;

/// Calls the `update` overload the transform declares.
template <class X, class T, class K, class S>
void call_update(const X& x, chunk<T>& c, const K& k, S& s) {
  constexpr bool ks = has_scalars<X>, ss = has_state<X, T>;
  if constexpr (ks && ss)
    x.update(c, k, s);
  else if constexpr (ks)
    x.update(c, k);
  else if constexpr (ss)
    x.update(c, s);
  else
    x.update(c);
}

/// Makes the element kernel of a transform for the chunk starting at `begin`, from the
/// `kernel` overload it declares: `kernel(k, s, begin)`, `kernel<T>(k, begin)`,
/// `kernel(s, begin)` or `kernel<T>(begin)`.
template <class T, class X, class K, class S>
auto make_kernel(const X& x, const K& k, S& s, std::int64_t begin) {
  constexpr bool ks = has_scalars<X>, ss = has_state<X, T>;
  if constexpr (ks && ss)
    return x.kernel(k, s, begin);
  else if constexpr (ks)
    return x.template kernel<T>(k, begin);
  else if constexpr (ss)
    return x.kernel(s, begin);
  else
    return x.template kernel<T>(begin);
}

/// The kernel of a transform that leaves the update as it is (an inactive option).
template <class T>
struct identity_kernel {
  T operator()(T u, T, std::int64_t) const noexcept { return u; }
};
/// The kernel u ← f·u.
template <class T>
struct scale_kernel {
  T factor;
  T operator()(T u, T, std::int64_t) const noexcept { return factor * u; }
};

template <class V>
struct is_variant : std::false_type {};
template <class... A>
struct is_variant<std::variant<A...>> : std::true_type {};

/// Whether `X` has an element kernel: `make_kernel` compiles and gives a callable
/// `T(T u, T p, std::int64_t i)` (or a std::variant of such).
template <class X, class T>
constexpr bool has_kernel() {
  using K = typename scalars_of<X>::type;
  using S = typename state_of<X, T>::type;
  constexpr bool declared = [] {
    if constexpr (has_scalars<X> && has_state<X, T>)
      return requires(const X& x, const K& k, S& s) { x.kernel(k, s, std::int64_t{}); };
    else if constexpr (has_scalars<X>)
      return requires(const X& x, const K& k) { x.template kernel<T>(k, std::int64_t{}); };
    else if constexpr (has_state<X, T>)
      return requires(const X& x, S& s) { x.kernel(s, std::int64_t{}); };
    else
      return requires(const X& x) { x.template kernel<T>(std::int64_t{}); };
  }();
  if constexpr (declared) {
    using R = decltype(make_kernel<T>(std::declval<const X&>(), std::declval<const K&>(),
                                      std::declval<S&>(), std::int64_t{}));
    if constexpr (is_variant<R>::value)
      return true;
    else
      return std::is_invocable_r_v<T, const R&, T, T, std::int64_t>;
  } else {
    return false;
  }
}

/// Whether `X` declares the `update` overload that matches its scalars and state.
template <class X, class T>
constexpr bool has_matching_update() {
  using K = typename scalars_of<X>::type;
  using S = typename state_of<X, T>::type;
  if constexpr (has_scalars<X> && has_state<X, T>)
    return requires(const X& x, chunk<T>& c, const K& k, S& s) { x.update(c, k, s); };
  else if constexpr (has_scalars<X>)
    return requires(const X& x, chunk<T>& c, const K& k) { x.update(c, k); };
  else if constexpr (has_state<X, T>)
    return requires(const X& x, chunk<T>& c, S& s) { x.update(c, s); };
  else
    return requires(const X& x, chunk<T>& c) { x.update(c); };
}

/// Whether a stateful transform can make its state, and a transform with scalars prepare them.
template <class X, class T>
constexpr bool has_matching_prepare_and_init() {
  bool ok = true;
  if constexpr (has_state<X, T>)
    ok = requires(const X& x, const param_step<T>& ps) {
      { x.init(ps) } -> std::same_as<typename X::template state<T>>;
    };
  if constexpr (has_scalars<X> && !is_global<X>) {
    if constexpr (has_state<X, T>)
      ok = ok && requires(const X& x, typename X::template state<T>& s, const param_step<T>& ps) {
        { x.prepare(s, ps) } -> std::same_as<typename X::scalars>;
      };
    else
      ok = ok && requires(const X& x, const param_step<T>& ps) {
        { x.prepare(ps) } -> std::same_as<typename X::scalars>;
      };
  }
  if constexpr (is_global<X>)
    ok = ok && !has_state<X, T> && has_scalars<X> &&
         requires(const X& x, typename X::partial& a, const typename X::partial& b,
                  typename X::status& st, typename X::scalars& k, const chunk<T>& c) {
           x.reduce(a, c);
           x.combine(a, b);
           { x.finish(b, st, k) } -> std::convertible_to<bool>;
         };
  return ok;
}

}  // namespace detail

/// A gradient transform usable on parameters of type `T` (see the table at the top of this
/// header for the members it may declare). Built-in transforms model it for float and double.
template <class X, class T>
concept gradient_transform = std::copy_constructible<X> && requires(const X& x) {
  { X::name } -> std::convertible_to<std::string_view>;
  x.validate();
} && (detail::has_kernel<X, T>() || detail::has_matching_update<X, T>()) &&
    detail::has_matching_prepare_and_init<X, T>();

}  // namespace pare::optim
