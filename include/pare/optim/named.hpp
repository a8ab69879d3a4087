#pragma once
/// \file
/// The machinery behind the named optimizers (`pare::optim::adam<float>` and friends): options,
/// parameter groups, learning-rate control, schedules and save/load over a fixed chain.

#include <cmath>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pare/core/error.hpp"
#include "pare/core/serialize.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/optim/optimizer.hpp"
#include "pare/sched/schedule.hpp"

namespace pare::optim::detail {

template <class T, class Chain>
struct optimizer_for_chain;
template <class T, class... X>
struct optimizer_for_chain<T, transform_chain<X...>> {
  using type = optimizer<T, X...>;
};

/// A named optimizer: `Traits` gives the options aggregate and its field list, the group
/// aggregate (the same fields as `std::optional`), validation, the chain the options make and
/// where `scale_by_learning_rate` sits in it.
///
/// Traits requirements: `options`, `group`, `name`, `fields` and `group_fields` (tuples of
/// pointers to members, same order), `static void validate(const options&)`,
/// `static auto make_chain(const options&)`, `lr_index`.
template <class Traits, class T>
class named_optimizer {
 public:
  using value_type = T;
  using traits_type = Traits;
  using options_type = typename Traits::options;
  using group_type = typename Traits::group;
  using chain_type = decltype(Traits::make_chain(std::declval<const options_type&>()));
  using optimizer_type = typename optimizer_for_chain<T, chain_type>::type;

  /// Validates the options (`pare::error` naming the field and value when out of range).
  explicit named_optimizer(const options_type& options = {})
      : options_(validated(options)), impl_(Traits::make_chain(options_)) {
    impl_.set_component(Traits::name);
  }

  /// Registers a parameter and its gradient buffer (same shape) with the optimizer's options.
  void add(tensor_view<T> param, tensor_view<const T> grad) { add(param, grad, group_type{}); }

  /// Registers a parameter with its own options (a parameter group, as in PyTorch): set fields
  /// override the optimizer's, unset ones inherit them. A group that sets its own lr keeps its
  /// ratio to the base lr when `set_lr` or a schedule moves it.
  void add(tensor_view<T> param, tensor_view<const T> grad, const group_type& group) {
    const options_type resolved = validated(resolve(options_, group));
    group_info info{resolved, group.lr.has_value(), false, 1.0};
    if (info.own_lr) {
      if (options_.lr != 0)
        info.lr_scale = resolved.lr / options_.lr;
      else
        info.pinned = true;  // no ratio to a zero base lr: this group's lr stays as given
    }
    groups_.reserve(groups_.size() + 1);
    impl_.add(param, grad, Traits::make_chain(resolved));
    groups_.push_back(info);
  }

  /// One update of every registered parameter. With a schedule set, the base lr is first set
  /// to s(t), t the number of completed steps.
  void step() {
    if (schedule_) apply_lr(schedule_(impl_.steps()), "the schedule's lr");
    impl_.step();
  }

  /// The base learning rate (the options' lr, as last set).
  [[nodiscard]] double lr() const noexcept { return options_.lr; }

  /// Sets the base learning rate; groups with their own lr keep their ratio to it (PyTorch's
  /// schedulers scale every group's lr alike). Throws `pare::error` when lr < 0 or NaN.
  void set_lr(double lr) { apply_lr(lr, "lr"); }

  /// Drives the base lr by a schedule: before each step, lr = s(t) with t the completed steps
  /// (the first step uses s(0)). Replaces any previous schedule; `set_lr` calls in between are
  /// overridden at the next step. The schedule is not saved by `save`.
  template <sched::schedule S>
  void set_schedule(S s) {
    schedule_ = [s = std::move(s)](std::int64_t t) { return static_cast<double>(s(t)); };
  }
  /// Removes the schedule; the lr stays where it was.
  void clear_schedule() noexcept { schedule_ = nullptr; }

  /// The options (with the lr as last set).
  [[nodiscard]] const options_type& options() const noexcept { return options_; }
  /// Parameter `i`'s options after its group's overrides.
  [[nodiscard]] const options_type& options(std::size_t i) const { return groups_.at(i).resolved; }
  /// Registered parameters.
  [[nodiscard]] std::size_t size() const noexcept { return groups_.size(); }
  /// Completed steps.
  [[nodiscard]] std::int64_t steps() const noexcept { return impl_.steps(); }
  /// The kind written in saved states, e.g. "pare::optim::adam<float>".
  [[nodiscard]] std::string kind() const { return impl_.kind(); }

  /// Saves the full state: options, every parameter's options, step counts and buffers, in a
  /// record with this optimizer's kind ("pare::optim::adam<float>") and the parameter shapes.
  void save(std::ostream& out) const {
    detail::write_state(out, Traits::name, impl_.kind(), [this](state_writer& w) {
      write_options(w, options_);
      w.value(static_cast<std::uint64_t>(groups_.size()));
      for (const group_info& g : groups_) {
        w.value(g.own_lr);
        w.value(g.pinned);
        w.value(g.lr_scale);
        write_options(w, g.resolved);
      }
      impl_.save_payload(w);
    });
  }

  /// Restores a state saved by the same optimizer kind with parameters of the same shapes
  /// registered in the same order (options included, as PyTorch's `load_state_dict`). Anything
  /// else — another kind, other shapes or count, a truncated or corrupted stream — throws
  /// `pare::error` and leaves this optimizer exactly as it was. Loading then stepping gives
  /// bit-identical results to never having stopped.
  void load(std::istream& in) {
    state_reader r(in, Traits::name, impl_.kind());
    const options_type options = validated(read_options(r));
    const auto n = r.value<std::uint64_t>();
    require(n == groups_.size(), Traits::name, "the state's parameter count",
            std::to_string(groups_.size()) + " (the registered parameters)", n);
    std::vector<group_info> groups(groups_.size());
    std::vector<chain_type> chains;
    chains.reserve(groups_.size());
    for (group_info& g : groups) {
      g.own_lr = r.value<bool>();
      g.pinned = r.value<bool>();
      g.lr_scale = r.value<double>();
      g.resolved = validated(read_options(r));
      chains.push_back(Traits::make_chain(g.resolved));
    }
    auto pending = impl_.parse_payload(r, &chains);
    r.finish();
    options_ = options;
    groups_ = std::move(groups);
    impl_.commit(std::move(pending), &chains);
  }

 private:
  struct group_info {
    options_type resolved{};
    bool own_lr = false;
    bool pinned = false;
    double lr_scale = 1.0;
  };

  static constexpr std::size_t n_fields = std::tuple_size_v<decltype(Traits::fields)>;

  static options_type validated(const options_type& o) {
    Traits::validate(o);
    return o;
  }
  static options_type resolve(options_type o, const group_type& g) {
    static_for<n_fields>([&]<std::size_t I>() {
      const auto& over = g.*std::get<I>(Traits::group_fields);
      if (over.has_value()) o.*std::get<I>(Traits::fields) = *over;
    });
    return o;
  }
  static void write_options(state_writer& w, const options_type& o) {
    static_for<n_fields>([&]<std::size_t I>() { w.value(o.*std::get<I>(Traits::fields)); });
  }
  static options_type read_options(state_reader& r) {
    options_type o{};
    static_for<n_fields>([&]<std::size_t I>() {
      auto& f = o.*std::get<I>(Traits::fields);
      f = r.value<std::remove_cvref_t<decltype(f)>>();
    });
    return o;
  }

  void apply_lr(double lr, std::string_view what) {
    if (!(lr >= 0)) fail_value(Traits::name, what, ">= 0", lr);
    options_.lr = lr;
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      group_info& g = groups_[i];
      if (g.pinned) continue;
      g.resolved.lr = g.own_lr ? lr * g.lr_scale : lr;
      std::get<Traits::lr_index>(impl_.mutable_transforms(i).items).lr = g.resolved.lr;
    }
  }

  options_type options_;
  optimizer_type impl_;
  std::vector<group_info> groups_;
  std::function<double(std::int64_t)> schedule_;
};

}  // namespace pare::optim::detail
