#pragma once
/// \file
/// `pare::optim::optimizer<T, X...>`: runs a chain of gradient transforms over registered
/// parameters, fused over cache-sized chunks.
///
/// Each step walks every parameter in chunks of 16 KiB per buffer. For a chunk, every transform
/// hands out an element kernel and one loop reads the gradient, passes each element through all
/// kernels (each reads and writes its own state there) and adds the result to the parameter. So
/// the parameter, its gradient and each state buffer cross memory once per step, whatever the
/// number of transforms; a global transform (norm clipping, a non-finite check) adds one
/// read-only pass over the gradients. A transform without a kernel works on an update scratch
/// (allocated once) that stays in cache between the loops. With OpenMP the chunks are shared
/// among threads.
///
///     auto opt = pare::optim::chain<float>(pare::optim::clip_by_global_norm{.max_norm = 1},
///                                          pare::optim::scale_by_adam{},
///                                          pare::optim::scale_by_learning_rate{.lr = 1e-3});
///     opt.add(w, gw);
///     opt.step();

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

// Internal: the fused loops read and write distinct buffers (registration rejects overlaps), so
// the compiler may vectorize them without run-time alias checks.
#if defined(__clang__)
#define PARE_DETAIL_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define PARE_DETAIL_IVDEP _Pragma("GCC ivdep")
#else
#define PARE_DETAIL_IVDEP
#endif

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/serialize.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/optim/transform.hpp"

namespace pare::optim {

/// An ordered list of transforms: the description of an optimizer, without parameters or state.
/// Make one with `pare::optim::chain(x...)`; it can be nested in another chain.
template <class... X>
struct transform_chain {
  std::tuple<X...> items;
  /// Validates every transform's options (throws `pare::error`).
  void validate() const {
    std::apply([](const auto&... x) { (x.validate(), ...); }, items);
  }
};

template <class T, class... X>
class optimizer;

namespace detail {
template <class Traits, class T>
class named_optimizer;

/// Elements per chunk: 16 KiB of each buffer. In the fused loop (every transform element-wise)
/// the chunk is only the unit of work handed to a thread and of kernel dispatch, so bigger is
/// cheaper; when a transform works on the whole chunk instead (`update`), the scratch and the
/// chunk's buffers (~100 KiB) must stay in L2 between the loops. Measured here: 4, 16 and 64 KiB
/// are within noise of each other for the fused loop.
template <class T>
inline constexpr std::int64_t optim_chunk = 16384 / static_cast<std::int64_t>(sizeof(T));

template <std::size_t N, class F>
constexpr void static_for(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<I>(), ...);
  }(std::make_index_sequence<N>{});
}

template <class X>
concept masks_parameters = requires { requires X::masks_parameters; };

template <class X, class T>
concept checks_param = requires(const X& x, const param_step<T>& ps) { x.check(ps); };

template <class X, class T>
concept resets_state = requires(const X& x, typename X::template state<T>& s,
                                const std::uint8_t* m) { x.reset(s, std::int64_t{}, std::int64_t{}, m); };

template <class X, class T>
concept saves_state = requires(const X& x, state_writer& w, state_reader& r,
                               typename X::template state<T>& s) {
  x.save(w, std::as_const(s));
  x.load(r, s);
};

template <class X>
concept saves_status = requires(const X& x, state_writer& w, state_reader& r,
                                typename X::status& s) {
  x.save(w, std::as_const(s));
  x.load(r, s);
};

/// A transform whose update is u ← f·u for a factor known before the chunks run:
/// `double scale_factor() const` or `double scale_factor(const scalars&) const`. The optimizer
/// folds leading ones into the copy of the gradient and trailing ones into the final addition
/// (one pass over the chunk fewer each).
template <class X>
concept pure_scale = requires(const X& x) {
  { x.scale_factor() } -> std::convertible_to<double>;
} || requires(const X& x, const typename scalars_of<X>::type& k) {
  { x.scale_factor(k) } -> std::convertible_to<double>;
};

template <class X, class K>
double scale_factor_of(const X& x, const K& k) {
  if constexpr (requires { x.scale_factor(); })
    return x.scale_factor();
  else
    return x.scale_factor(k);
}

template <class X>
struct is_transform_chain : std::false_type {};
template <class... X>
struct is_transform_chain<transform_chain<X...>> : std::true_type {};

template <class X>
auto as_tuple(X x) {
  if constexpr (is_transform_chain<X>::value)
    return std::move(x.items);
  else
    return std::tuple<X>(std::move(x));
}

template <class T, class Tuple>
struct optimizer_of;
template <class T, class... X>
struct optimizer_of<T, std::tuple<X...>> {
  using type = optimizer<T, X...>;
};
template <class Tuple>
struct chain_of_tuple;
template <class... X>
struct chain_of_tuple<std::tuple<X...>> {
  using type = transform_chain<X...>;
};

template <class X, class... Y>
constexpr std::size_t index_of() {
  std::size_t i = 0;
  const bool found = ((std::is_same_v<X, Y> ? true : (++i, false)) || ...);
  return found ? i : sizeof...(Y);
}

/// Whether every global transform is preceded by stateless transforms only (its reduction pass
/// runs them, and must not advance their state).
template <class T, class... X>
constexpr bool globals_follow_stateless() {
  bool seen_state = false, ok = true;
  ((ok = ok && !(is_global<X> && seen_state), seen_state = seen_state || has_state<X, T>), ...);
  return ok;
}

}  // namespace detail

/// Composes transforms into a `transform_chain` (chains given as arguments are flattened).
template <class... X>
  requires(sizeof...(X) > 0 && (std::copy_constructible<X> && ...))
[[nodiscard]] auto chain(X... x) {
  using tuple = decltype(std::tuple_cat(detail::as_tuple(std::move(x))...));
  return typename detail::chain_of_tuple<tuple>::type{
      std::tuple_cat(detail::as_tuple(std::move(x))...)};
}

/// Makes an optimizer over `T` (float or double) from transforms and chains (flattened):
/// `auto opt = pare::optim::chain<float>(clip_by_global_norm{.max_norm = 1}, as_chain(adamw_options{}));`
template <class T, class... X>
  requires((std::is_same_v<T, float> || std::is_same_v<T, double>) && sizeof...(X) > 0)
[[nodiscard]] auto chain(X... x) {
  using tuple = decltype(std::tuple_cat(detail::as_tuple(std::move(x))...));
  using opt = typename detail::optimizer_of<T, tuple>::type;
  return opt(typename opt::chain_type{std::tuple_cat(detail::as_tuple(std::move(x))...)});
}

/// The optimizer driver: registered parameters, their per-parameter copies of the chain (so a
/// parameter can have its own options: parameter groups), the transforms' state, and the fused
/// step. Named optimizers (`adam`, `sgd`, ...) are this class with a fixed chain.
///
/// Views given to `add` must outlive the optimizer. `step()` allocates nothing after the first
/// call (unless the OpenMP thread count grows). Copying an optimizer copies its state.
template <class T, class... X>
class optimizer {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "pare::optim::optimizer<T, ...>: T must be float or double");
  static_assert(sizeof...(X) > 0, "pare::optim::optimizer: the chain needs at least one transform");
  static_assert((gradient_transform<X, T> && ...),
                "pare::optim::optimizer: every transform must model "
                "pare::optim::gradient_transform<X, T> (see pare/optim/transform.hpp)");
  static_assert(detail::globals_follow_stateless<T, X...>(),
                "pare::optim::optimizer: a global transform (clip_by_global_norm, "
                "skip_non_finite) must come before every stateful transform of the chain");
  static_assert((static_cast<int>(detail::masks_parameters<X>) + ... + 0) <= 1,
                "pare::optim::optimizer: a chain can hold at most one keep_mask");

  static constexpr std::size_t n_tx = sizeof...(X);
  /// Transforms [0, lead) are pure scales folded into the copy of the gradient, transforms
  /// [tail, n_tx) pure scales folded into the addition to the parameter.
  static constexpr std::size_t lead = [] {
    std::size_t i = 0;
    (void)((detail::pure_scale<X> ? (++i, false) : true) || ...);
    return i;
  }();
  static constexpr std::size_t tail = [] {
    constexpr bool pure[] = {detail::pure_scale<X>...};
    std::size_t i = n_tx;
    while (i > lead && pure[i - 1]) --i;
    return i;
  }();
  static constexpr bool has_mask = (detail::masks_parameters<X> || ...);
  static constexpr std::size_t mask_index = []() {
    std::size_t i = 0;
    (void)((detail::masks_parameters<X> ? true : (++i, false)) || ...);
    return i;
  }();
  static_assert(!has_mask || ((!detail::has_state<X, T> || detail::resets_state<X, T>) && ...),
                "pare::optim::optimizer: with keep_mask in the chain, every stateful transform "
                "must declare reset(state, begin, n, mask) to clear the state of masked weights");

  template <std::size_t I>
  using tx_t = std::tuple_element_t<I, std::tuple<X...>>;
  using states = std::tuple<typename detail::state_of<X, T>::type...>;
  using scalars = std::tuple<typename detail::scalars_of<X>::type...>;
  using statuses = std::tuple<typename detail::status_of<X>::type...>;
  using partials = std::tuple<std::vector<typename detail::partial_of<X>::type>...>;

 public:
  using value_type = T;
  using chain_type = transform_chain<X...>;

  /// Validates the transforms' options (`pare::error` when out of range).
  explicit optimizer(chain_type transforms) : tx_(std::move(transforms)) { tx_.validate(); }
  explicit optimizer(X... transforms) : optimizer(chain_type{{std::move(transforms)...}}) {}

  /// Registers a parameter and the buffer its gradient will be in, with the optimizer's chain.
  /// Throws `pare::error` when the shapes differ, or the parameter's memory overlaps its
  /// gradient or any parameter or gradient already added (a step writes parameters while it
  /// reads gradients).
  void add(tensor_view<T> param, tensor_view<const T> grad) { add(param, grad, tx_); }

  /// Registers a parameter with its own copy of the chain (its own options: a parameter
  /// group). The optimizer-level chain still drives global transforms.
  void add(tensor_view<T> param, tensor_view<const T> grad, const chain_type& transforms) {
    detail::require_same_shape(component_, "param", param, "grad", grad);
    transforms.validate();
    auto overlap = [](const T* a, std::int64_t na, const T* b, std::int64_t nb) {
      const auto alo = reinterpret_cast<std::uintptr_t>(a), blo = reinterpret_cast<std::uintptr_t>(b);
      return na > 0 && nb > 0 && alo < blo + static_cast<std::uintptr_t>(nb) * sizeof(T) &&
             blo < alo + static_cast<std::uintptr_t>(na) * sizeof(T);
    };
    if (overlap(param.data(), param.size(), grad.data(), grad.size()))
      detail::fail(component_, "grad must not share memory with its param");
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const entry& q = params_[i];
      if (overlap(param.data(), param.size(), q.param.data(), q.param.size()))
        detail::fail(component_, "param must not overlap a registered parameter, got one that "
                                 "overlaps parameter " + std::to_string(i));
      if (overlap(param.data(), param.size(), q.grad.data(), q.grad.size()))
        detail::fail(component_, "param must not overlap a registered gradient, got one that "
                                 "overlaps the gradient of parameter " + std::to_string(i));
      if (overlap(grad.data(), grad.size(), q.param.data(), q.param.size()))
        detail::fail(component_, "grad must not overlap a registered parameter, got one that "
                                 "overlaps parameter " + std::to_string(i));
    }
    const param_step<T> ps{steps_, params_.size(), param, grad};
    detail::static_for<n_tx>([&]<std::size_t I>() {
      if constexpr (detail::checks_param<tx_t<I>, T>) std::get<I>(transforms.items).check(ps);
    });
    entry e{param, grad, transforms, {}, {}, nullptr, 1, 1};
    detail::static_for<n_tx>([&]<std::size_t I>() {
      if constexpr (detail::has_state<tx_t<I>, T>)
        std::get<I>(e.state) = std::get<I>(transforms.items).init(ps);
    });
    // Everything that can throw happens before the first change.
    const std::int64_t c = detail::optim_chunk<T>;
    const std::size_t new_tasks = static_cast<std::size_t>((param.size() + c - 1) / c);
    params_.reserve(params_.size() + 1);
    tasks_.reserve(tasks_.size() + new_tasks);
    std::apply([&](auto&... v) { (v.reserve(tasks_.size() + new_tasks), ...); }, partials_);
    reserve_scratch();
    const auto index = static_cast<std::uint32_t>(params_.size());
    for (std::int64_t b = 0; b < param.size(); b += c)
      tasks_.push_back({index, b, std::min(param.size(), b + c)});
    detail::static_for<n_tx>([&]<std::size_t I>() {
      if constexpr (detail::is_global<tx_t<I>>) std::get<I>(partials_).resize(tasks_.size());
    });
    params_.push_back(std::move(e));
  }

  /// One update of every registered parameter. Returns false when a global transform
  /// (`skip_non_finite`) skipped the step: then nothing changed, not even the step count.
  /// Throws `pare::error`, before changing anything, when a transform rejects its input (a
  /// mask of the wrong size, a schedule value out of range).
  bool step() {
    // Stateless per-step values first: they may throw, and change nothing.
    for (std::size_t i = 0; i < params_.size(); ++i) {
      entry& e = params_[i];
      const param_step<T> ps{steps_, i, e.param, e.grad};
      detail::static_for<n_tx>([&]<std::size_t I>() {
        using x = tx_t<I>;
        if constexpr (detail::has_scalars<x> && !detail::has_state<x, T> && !detail::is_global<x>)
          std::get<I>(e.k) = std::get<I>(e.tx.items).prepare(ps);
      });
      if constexpr (has_mask) e.mask = std::get<mask_index>(e.k).mask;
    }
    reserve_scratch();
    bool apply = true;
    detail::static_for<n_tx>([&]<std::size_t I>() {
      if constexpr (detail::is_global<tx_t<I>>)
        if (apply) apply = reduce<I>();
    });
    if (!apply) return false;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      entry& e = params_[i];
      const param_step<T> ps{steps_, i, e.param, e.grad};
      detail::static_for<n_tx>([&]<std::size_t I>() {
        using x = tx_t<I>;
        if constexpr (detail::has_scalars<x> && detail::has_state<x, T>)
          std::get<I>(e.k) = std::get<I>(e.tx.items).prepare(std::get<I>(e.state), ps);
      });
      e.pre = e.post = 1.0;
      detail::static_for<n_tx>([&]<std::size_t I>() {
        if constexpr (I < lead)
          e.pre *= detail::scale_factor_of(std::get<I>(e.tx.items), std::get<I>(e.k));
        else if constexpr (I >= tail)
          e.post *= detail::scale_factor_of(std::get<I>(e.tx.items), std::get<I>(e.k));
      });
    }
    run([this](std::size_t t, T* scratch) { update_chunk(tasks_[t], scratch); });
    ++steps_;
    return true;
  }

  /// Completed steps (skipped ones are not counted).
  [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }
  /// Registered parameters.
  [[nodiscard]] std::size_t size() const noexcept { return params_.size(); }
  /// The optimizer-level chain.
  [[nodiscard]] const chain_type& transforms() const noexcept { return tx_; }
  /// Parameter `i`'s chain (its options).
  [[nodiscard]] const chain_type& transforms(std::size_t i) const { return params_.at(i).tx; }

  /// The status a global transform keeps (e.g. `status<skip_non_finite>().skipped`,
  /// `status<clip_by_global_norm>().norm`): the first transform of type `Y` in the chain.
  template <class Y>
  [[nodiscard]] const auto& status() const noexcept {
    constexpr std::size_t i = detail::index_of<Y, X...>();
    static_assert(i < n_tx, "pare::optim::optimizer::status<Y>: Y is not in this chain");
    static_assert(detail::is_global<Y>, "pare::optim::optimizer::status<Y>: Y keeps no status");
    return std::get<i>(status_);
  }

  /// The kind written in saved states: "pare::optim::chain<float>(name, name, ...)".
  [[nodiscard]] std::string kind() const {
    std::string k = std::string(component_) + "<" + (std::is_same_v<T, float> ? "float" : "double") + ">";
    if (component_ != default_component) return k;
    k += "(";
    std::size_t i = 0;
    ((k += (i++ ? ", " : "") + std::string(X::name)), ...);
    return k + ")";
  }

  /// Saves the state (step count, every buffer and counter, global statuses) with the shapes of
  /// the parameters. The chain's options are not saved: they are the program's.
  void save(std::ostream& out) const {
    detail::write_state(out, component_, kind(), [this](detail::state_writer& w) { save_payload(w); });
  }

  /// Loads a state saved by an optimizer with the same chain and parameters of the same shapes
  /// in the same order. Anything else (another kind, other shapes, a truncated or corrupted
  /// stream) throws `pare::error` and leaves this optimizer exactly as it was.
  void load(std::istream& in) {
    detail::state_reader r(in, component_, kind());
    pending p = parse_payload(r, nullptr);
    r.finish();
    commit(std::move(p), nullptr);
  }

 private:
  template <class, class>
  friend class detail::named_optimizer;

  // --- for the named optimizers built on this class ---------------------------------------

  /// Component named in errors and saved kinds.
  void set_component(std::string_view c) noexcept { component_ = c; }
  [[nodiscard]] std::string_view component() const noexcept { return component_; }
  /// Parameter `i`'s chain, mutable: only for options that do not change the state's layout
  /// (the learning rate).
  [[nodiscard]] chain_type& mutable_transforms(std::size_t i) noexcept { return params_[i].tx; }

  /// What `load` parsed, not yet applied.
  struct pending {
    std::int64_t steps = 0;
    statuses status{};
    std::vector<states> state;
  };

  void save_payload(detail::state_writer& w) const {
    w.value(static_cast<std::uint64_t>(params_.size()));
    w.value(steps_);
    detail::static_for<n_tx>([&]<std::size_t I>() {
      using x = tx_t<I>;
      if constexpr (detail::is_global<x>) {
        static_assert(detail::saves_status<x>, "this chain's global transform cannot save its status");
        std::get<I>(tx_.items).save(w, std::get<I>(status_));
      }
    });
    for (const entry& e : params_) {
      w.shape(e.param.shape());
      detail::static_for<n_tx>([&]<std::size_t I>() {
        using x = tx_t<I>;
        if constexpr (detail::has_state<x, T>) {
          static_assert(detail::saves_state<x, T>, "this chain has a transform that cannot save its state");
          std::get<I>(e.tx.items).save(w, std::get<I>(e.state));
        }
      });
    }
  }

  /// Parses a payload into fresh state. `chains` (one per parameter) gives the options the new
  /// state is made for; null means the current ones.
  pending parse_payload(detail::state_reader& r, const std::vector<chain_type>* chains) const {
    pending p;
    const auto n = r.value<std::uint64_t>();
    detail::require(n == params_.size(), component_, "the state's parameter count",
                    std::to_string(params_.size()) + " (the registered parameters)", n);
    p.steps = r.value<std::int64_t>();
    detail::require(p.steps >= 0, component_, "the state's step count", ">= 0", p.steps);
    p.status = status_;
    detail::static_for<n_tx>([&]<std::size_t I>() {
      if constexpr (detail::is_global<tx_t<I>>) std::get<I>(tx_.items).load(r, std::get<I>(p.status));
    });
    p.state.resize(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const entry& e = params_[i];
      r.expect_shape(e.param.shape(), "parameter " + std::to_string(i) + "'s shape in the state");
      const chain_type& tx = chains ? (*chains)[i] : e.tx;
      const param_step<T> ps{p.steps, i, e.param, e.grad};
      detail::static_for<n_tx>([&]<std::size_t I>() {
        if constexpr (detail::has_state<tx_t<I>, T>) {
          std::get<I>(p.state[i]) = std::get<I>(tx.items).init(ps);
          std::get<I>(tx.items).load(r, std::get<I>(p.state[i]));
        }
      });
    }
    return p;
  }

  /// Applies a parsed state (and, when given, new per-parameter chains). Does not throw.
  void commit(pending&& p, std::vector<chain_type>* chains) noexcept {
    steps_ = p.steps;
    status_ = std::move(p.status);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      params_[i].state = std::move(p.state[i]);
      if (chains) params_[i].tx = std::move((*chains)[i]);
    }
  }


  static constexpr std::string_view default_component = "pare::optim::chain";

  struct entry {
    tensor_view<T> param;
    tensor_view<const T> grad;
    chain_type tx;
    states state;
    scalars k;
    const std::uint8_t* mask;
    double pre = 1, post = 1;  // folded pure scales (see lead and tail)
  };
  struct task {
    std::uint32_t param;
    std::int64_t begin, end;
  };

  void reserve_scratch() {
    const auto need = static_cast<std::int64_t>(max_threads()) * detail::optim_chunk<T>;
    if (scratch_.size() < need) scratch_ = state_buffer<T>(need);
  }

  /// Runs f(task index, scratch) over every task, on OpenMP's threads when there is enough work.
  template <class F>
  void run(F&& f) {
    const auto n = static_cast<std::int64_t>(tasks_.size());
#ifdef _OPENMP
    const int threads = omp_get_max_threads();
    if (threads > 1 && n >= 2 * threads) {
      T* base = scratch_.data();
#pragma omp parallel for schedule(static)
      for (std::int64_t t = 0; t < n; ++t)
        f(static_cast<std::size_t>(t), base + omp_get_thread_num() * detail::optim_chunk<T>);
      return;
    }
#endif
    for (std::int64_t t = 0; t < n; ++t) f(static_cast<std::size_t>(t), scratch_.data());
  }

  static constexpr std::size_t next_general(std::size_t b, std::size_t e) {
    constexpr bool elementwise[] = {detail::has_kernel<X, T>()...};
    while (b < e && elementwise[b]) ++b;
    return b;
  }

  /// Runs transforms [B, E) over task t: fused element loops, split where a transform has no
  /// element kernel (it then runs on the scratch `u`). The first loop reads pre·g when
  /// `from_grad`, else u; the last writes p ← p + post·x when `to_param`, else u.
  template <std::size_t B, std::size_t E, bool from_grad, bool to_param>
  void run_range(entry& e, const task& t, T* u, T pre) {
    constexpr std::size_t general = next_general(B, E);
    if constexpr (general == E) {
      fused<B, E, from_grad, to_param>(e, t, u, pre);
    } else {
      if constexpr (general > B || from_grad) fused<B, general, from_grad, false>(e, t, u, pre);
      const std::int64_t n = t.end - t.begin;
      chunk<T> c{typename chunk<T>::map(u, n), typename chunk<T>::const_map(e.param.data() + t.begin, n),
                 t.begin, t.param};
      detail::call_update(std::get<general>(e.tx.items), c, std::get<general>(e.k),
                          std::get<general>(e.state));
      run_range<general + 1, E, false, to_param>(e, t, u, pre);
    }
  }

  template <class K>
  static auto as_variant(K k) {
    if constexpr (detail::is_variant<K>::value)
      return k;
    else
      return std::variant<K>(std::move(k));
  }

  /// One loop for transforms [B, E), all with element kernels: each kernel that is a variant
  /// is resolved once here, so the loop itself is straight-line code the compiler vectorizes.
  template <std::size_t B, std::size_t E, bool from_grad, bool to_param>
  void fused(entry& e, const task& t, T* u, T pre) {
    auto kernels = [&]<std::size_t... J>(std::index_sequence<J...>) {
      return std::tuple{as_variant(detail::make_kernel<T>(std::get<B + J>(e.tx.items), std::get<B + J>(e.k),
                                                          std::get<B + J>(e.state), t.begin))...};
    }(std::make_index_sequence<E - B>{});
    std::apply(
        [&](auto&... variants) {
          std::visit([&](const auto&... k) { loop<from_grad, to_param>(e, t, u, pre, k...); }, variants...);
        },
        kernels);
  }

  template <bool from_grad, bool to_param, class... K>
  void loop(const entry& e, const task& t, T* __restrict u, T pre, const K&... k) {
    const std::int64_t n = t.end - t.begin;
    T* __restrict p = e.param.data() + t.begin;
    const T* __restrict g = e.grad.data() + t.begin;
    const T post = static_cast<T>(e.post);
    if constexpr (to_param && has_mask) {
      if (e.mask != nullptr) {
        const std::uint8_t* __restrict m = e.mask + t.begin;
        PARE_DETAIL_IVDEP
        for (std::int64_t i = 0; i < n; ++i) {
          T x = from_grad ? pre * g[i] : u[i];
          const T pi = p[i];
          ((x = k(x, pi, i)), ...);
          p[i] = m[i] ? pi + post * x : T(0);
        }
        return;
      }
    }
    PARE_DETAIL_IVDEP
    for (std::int64_t i = 0; i < n; ++i) {
      T x;
      if constexpr (from_grad)
        x = pre * g[i];
      else
        x = u[i];
      const T pi = p[i];
      (void)pi;
      ((x = k(x, pi, i)), ...);
      if constexpr (to_param)
        p[i] = pi + post * x;
      else
        u[i] = x;
    }
  }

  /// The reduction pass of global transform I: the transforms before it (stateless) run on each
  /// chunk, then it accumulates; partial results are combined in task order, so the outcome
  /// does not depend on the thread count.
  template <std::size_t I>
  bool reduce() {
    using x = tx_t<I>;
    auto& parts = std::get<I>(partials_);
    run([&](std::size_t ti, T* scratch) {
      const task& t = tasks_[ti];
      entry& e = params_[t.param];
      run_range<0, I, true, false>(e, t, scratch, T(1));
      const std::int64_t n = t.end - t.begin;
      const chunk<T> c{typename chunk<T>::map(scratch, n),
                       typename chunk<T>::const_map(e.param.data() + t.begin, n), t.begin, t.param};
      parts[ti] = typename x::partial{};
      std::get<I>(e.tx.items).reduce(parts[ti], c);
    });
    typename x::partial total{};
    for (std::size_t t = 0; t < tasks_.size(); ++t) std::get<I>(tx_.items).combine(total, parts[t]);
    typename x::scalars k{};
    const bool ok = std::get<I>(tx_.items).finish(total, std::get<I>(status_), k);
    for (entry& e : params_) std::get<I>(e.k) = k;
    return ok;
  }

  void update_chunk(const task& t, T* scratch) {
    entry& e = params_[t.param];
    run_range<lead, tail, true, true>(e, t, scratch, static_cast<T>(e.pre));
    if constexpr (has_mask) {
      if (e.mask != nullptr) {
        const std::int64_t n = t.end - t.begin;
        detail::static_for<n_tx>([&]<std::size_t I>() {
          if constexpr (detail::has_state<tx_t<I>, T>)
            std::get<I>(e.tx.items).reset(std::get<I>(e.state), t.begin, n, e.mask + t.begin);
        });
      }
    }
  }

  chain_type tx_;
  std::string_view component_ = default_component;
  std::vector<entry> params_;
  std::vector<task> tasks_;
  partials partials_;
  statuses status_{};
  state_buffer<T> scratch_;
  std::int64_t steps_ = 0;
};

}  // namespace pare::optim
