// Options, defaults and validation of the named optimizers (DESIGN.md section 3, PyTorch's
// checks), parameter registration, groups and learning-rate control.
#include <cmath>
#include <limits>
#include <vector>

#include "common.hpp"

namespace po = pare::optim;
using pare::tensor_view;

TEST_CASE("options aggregates have DESIGN's fields, order and defaults") {
  // Designated initializers compile only in declaration order: these spell DESIGN's order.
  constexpr po::sgd_options s{.lr = 1e-3, .momentum = 0, .dampening = 0, .weight_decay = 0, .nesterov = false, .maximize = false};
  constexpr po::adagrad_options ag{.lr = 1e-2, .lr_decay = 0, .weight_decay = 0, .initial_accumulator_value = 0, .eps = 1e-10, .maximize = false};
  constexpr po::adadelta_options ad{.lr = 1.0, .rho = 0.9, .eps = 1e-6, .weight_decay = 0, .maximize = false};
  constexpr po::adam_options a{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0, .amsgrad = false, .maximize = false};
  constexpr po::rmsprop_options r{.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .weight_decay = 0, .momentum = 0, .centered = false, .maximize = false};
  constexpr po::nadam_options n{.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0, .momentum_decay = 4e-3, .maximize = false};
  // ... and the defaults are those values.
  CHECK(optim_test::same_options<po::sgd<float>::traits_type>(po::sgd_options{}, s));
  CHECK(optim_test::same_options<po::adagrad<float>::traits_type>(po::adagrad_options{}, ag));
  CHECK(optim_test::same_options<po::adadelta<float>::traits_type>(po::adadelta_options{}, ad));
  CHECK(optim_test::same_options<po::adam<float>::traits_type>(po::adam_options{}, a));
  CHECK(optim_test::same_options<po::rmsprop<float>::traits_type>(po::rmsprop_options{}, r));
  CHECK(optim_test::same_options<po::nadam<float>::traits_type>(po::nadam_options{}, n));
  CHECK(po::momentum_options{}.momentum == 0.9);
  CHECK_FALSE(po::momentum_options{}.nesterov);
  CHECK(po::nag_options{}.momentum == 0.9);
  CHECK(po::nag_options{}.nesterov);
  CHECK(po::adamw_options{}.weight_decay == 1e-2);
  CHECK(po::adamw_options{}.lr == 1e-3);
  CHECK(po::adam<float>().lr() == 1e-3);
  CHECK(po::nadam<double>().options().momentum_decay == 4e-3);
}

TEST_CASE("every option out of PyTorch's range is a pare::error naming the field and the value") {
  using F = float;
  // lr < 0 for all nine, and NaN is rejected like any other out-of-range value
  PARE_REQUIRE_ERROR(po::sgd<F>({.lr = -0.1}), "pare::optim::sgd: lr must be >= 0, got -0.1");
  PARE_REQUIRE_ERROR(po::momentum<F>({.lr = -1}), "pare::optim::momentum", "lr", "-1");
  PARE_REQUIRE_ERROR(po::nag<F>({.lr = std::nan("")}), "pare::optim::nag", "lr", "nan");
  PARE_REQUIRE_ERROR(po::adagrad<F>({.lr = -1}), "pare::optim::adagrad", "lr", "-1");
  PARE_REQUIRE_ERROR(po::adadelta<F>({.lr = -1}), "pare::optim::adadelta", "lr", "-1");
  PARE_REQUIRE_ERROR(po::adam<F>({.lr = -1}), "pare::optim::adam", "lr", "-1");
  PARE_REQUIRE_ERROR(po::adamw<F>({.lr = -1}), "pare::optim::adamw", "lr", "-1");
  PARE_REQUIRE_ERROR(po::rmsprop<F>({.lr = -1}), "pare::optim::rmsprop", "lr", "-1");
  PARE_REQUIRE_ERROR(po::nadam<F>({.lr = -1}), "pare::optim::nadam", "lr", "-1");
  // SGD family
  PARE_REQUIRE_ERROR(po::sgd<F>({.momentum = -0.5}), "pare::optim::sgd", "momentum", ">= 0", "-0.5");
  PARE_REQUIRE_ERROR(po::sgd<F>({.weight_decay = -1e-4}), "pare::optim::sgd", "weight_decay", "got -1e-04");
  PARE_REQUIRE_ERROR(po::sgd<F>({.nesterov = true}), "pare::optim::sgd", "momentum", "> 0 when nesterov", "got 0");
  PARE_REQUIRE_ERROR(po::sgd<F>({.momentum = 0.9, .dampening = 0.1, .nesterov = true}), "pare::optim::sgd",
                     "dampening", "0 when nesterov", "0.1");
  PARE_REQUIRE_ERROR(po::nag<F>({.momentum = 0}), "pare::optim::nag", "momentum", "> 0 when nesterov");
  PARE_REQUIRE_ERROR(po::momentum<F>({.momentum = -1}), "pare::optim::momentum", "momentum", "-1");
  // Adagrad
  PARE_REQUIRE_ERROR(po::adagrad<F>({.lr_decay = -1}), "pare::optim::adagrad", "lr_decay", "-1");
  PARE_REQUIRE_ERROR(po::adagrad<F>({.weight_decay = -1}), "pare::optim::adagrad", "weight_decay", "-1");
  PARE_REQUIRE_ERROR(po::adagrad<F>({.initial_accumulator_value = -0.1}), "pare::optim::adagrad",
                     "initial_accumulator_value", "-0.1");
  PARE_REQUIRE_ERROR(po::adagrad<F>({.eps = -1e-10}), "pare::optim::adagrad", "eps", "-1e-10");
  // Adadelta: rho in [0, 1]
  PARE_REQUIRE_ERROR(po::adadelta<F>({.rho = 1.5}), "pare::optim::adadelta", "rho", "in [0, 1]", "1.5");
  PARE_REQUIRE_ERROR(po::adadelta<F>({.rho = -0.1}), "pare::optim::adadelta", "rho", "-0.1");
  PARE_REQUIRE_ERROR(po::adadelta<F>({.eps = -1}), "pare::optim::adadelta", "eps", "-1");
  PARE_REQUIRE_ERROR(po::adadelta<F>({.weight_decay = -1}), "pare::optim::adadelta", "weight_decay", "-1");
  // Adam, AdamW: betas in [0, 1)
  PARE_REQUIRE_ERROR(po::adam<F>({.beta1 = 1.5}), "pare::optim::adam: beta1 must be in [0, 1), got 1.5");
  PARE_REQUIRE_ERROR(po::adam<F>({.beta1 = 1.0}), "pare::optim::adam", "beta1", "got 1");
  PARE_REQUIRE_ERROR(po::adam<F>({.beta2 = -0.1}), "pare::optim::adam", "beta2", "-0.1");
  PARE_REQUIRE_ERROR(po::adamw<F>({.beta2 = 1.0}), "pare::optim::adamw", "beta2", "got 1");
  PARE_REQUIRE_ERROR(po::adam<F>({.eps = -1e-8}), "pare::optim::adam", "eps", "-1e-08");
  PARE_REQUIRE_ERROR(po::adamw<F>({.weight_decay = -0.01}), "pare::optim::adamw", "weight_decay", "-0.01");
  // RMSprop: alpha < 0 (alpha > 1 is accepted, as in PyTorch)
  PARE_REQUIRE_ERROR(po::rmsprop<F>({.alpha = -0.5}), "pare::optim::rmsprop", "alpha", "-0.5");
  PARE_REQUIRE_ERROR(po::rmsprop<F>({.eps = -1}), "pare::optim::rmsprop", "eps", "-1");
  PARE_REQUIRE_ERROR(po::rmsprop<F>({.momentum = -1}), "pare::optim::rmsprop", "momentum", "-1");
  PARE_REQUIRE_ERROR(po::rmsprop<F>({.weight_decay = -1}), "pare::optim::rmsprop", "weight_decay", "-1");
  // NAdam
  PARE_REQUIRE_ERROR(po::nadam<F>({.beta1 = 2}), "pare::optim::nadam", "beta1", "got 2");
  PARE_REQUIRE_ERROR(po::nadam<F>({.beta2 = 1}), "pare::optim::nadam", "beta2", "got 1");
  PARE_REQUIRE_ERROR(po::nadam<F>({.eps = -1}), "pare::optim::nadam", "eps", "-1");
  PARE_REQUIRE_ERROR(po::nadam<F>({.weight_decay = -1}), "pare::optim::nadam", "weight_decay", "-1");
  PARE_REQUIRE_ERROR(po::nadam<F>({.momentum_decay = -4e-3}), "pare::optim::nadam", "momentum_decay", "-0.004");
}

TEST_CASE("the closed ends of every range are accepted") {
  using F = float;
  CHECK_NOTHROW(po::sgd<F>({.lr = 0, .momentum = 0, .dampening = -3, .weight_decay = 0}));  // dampening is free
  CHECK_NOTHROW(po::nag<F>({.momentum = 1e-9}));
  CHECK_NOTHROW(po::adagrad<F>({.lr = 0, .lr_decay = 0, .initial_accumulator_value = 0, .eps = 0}));
  CHECK_NOTHROW(po::adadelta<F>({.rho = 0, .eps = 0}));
  CHECK_NOTHROW(po::adadelta<F>({.rho = 1}));
  CHECK_NOTHROW(po::adam<F>({.beta1 = 0, .beta2 = 0, .eps = 0}));
  CHECK_NOTHROW(po::adamw<F>({.weight_decay = 0}));
  CHECK_NOTHROW(po::rmsprop<F>({.alpha = 0, .eps = 0}));
  CHECK_NOTHROW(po::rmsprop<F>({.alpha = 1.5}));
  CHECK_NOTHROW(po::nadam<F>({.beta1 = 0, .eps = 0, .momentum_decay = 0}));
  CHECK_NOTHROW(po::sgd<F>({.lr = std::numeric_limits<double>::infinity()}));  // as PyTorch: 0 <= inf
}

TEST_CASE("transforms validate their own options, named in the message") {
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_adam{.beta1 = 1}), "pare::optim::scale_by_adam", "beta1", "got 1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_momentum{.momentum = 0, .nesterov = true}),
                     "pare::optim::scale_by_momentum", "momentum", "> 0 when nesterov");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_adagrad{.eps = -1}), "pare::optim::scale_by_adagrad", "eps", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_adadelta{.rho = 2}), "pare::optim::scale_by_adadelta", "rho", "2");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_rms{.alpha = -1}), "pare::optim::scale_by_rms", "alpha", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_nadam{.momentum_decay = -1}), "pare::optim::scale_by_nadam",
                     "momentum_decay", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale_by_learning_rate{.lr = -2.0}), "pare::optim::scale_by_learning_rate",
                     "lr", "-2");
  PARE_REQUIRE_ERROR(po::chain<float>(po::scale{.factor = INFINITY}), "pare::optim::scale", "factor", "finite", "inf");
  PARE_REQUIRE_ERROR(po::chain<float>(po::add_weight_decay{.weight_decay = -1}), "pare::optim::add_weight_decay",
                     "weight_decay", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::add_decayed_weights{.weight_decay = -1}),
                     "pare::optim::add_decayed_weights", "weight_decay", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::clip_by_value{.clip_value = -1}), "pare::optim::clip_by_value",
                     "clip_value", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::clip_by_global_norm{.max_norm = -1}), "pare::optim::clip_by_global_norm",
                     "max_norm", "-1");
  PARE_REQUIRE_ERROR(po::chain<float>(po::clip_by_global_norm{.eps = -1}), "pare::optim::clip_by_global_norm", "eps",
                     "-1");
}

TEST_CASE("add rejects mismatched shapes, overlapping parameters and bad groups, and changes nothing then") {
  std::vector<float> w(12, 1.0f), g(12, 0.5f), w2(6, 1.0f), g2(6, 0.1f);
  po::adam<float> opt;
  PARE_REQUIRE_ERROR(opt.add(tensor_view<float>(w.data(), {3, 4}), tensor_view<const float>(g.data(), {4, 3})),
                     "pare::optim::adam", "grad must have the shape of param [3, 4], got [4, 3]");
  PARE_REQUIRE_ERROR(opt.add(tensor_view<float>(w.data(), {12}), tensor_view<const float>(g.data(), {6})),
                     "pare::optim::adam", "grad", "[12]", "[6]");
  CHECK(opt.size() == 0);
  opt.add(tensor_view<float>(w.data(), {3, 4}), tensor_view<const float>(g.data(), {3, 4}));
  PARE_REQUIRE_ERROR(opt.add(tensor_view<float>(w.data() + 6, {6}), tensor_view<const float>(g2.data(), {6})),
                     "pare::optim::adam", "param must not overlap", "parameter 0");
  PARE_REQUIRE_ERROR(opt.add(w2, g2, {.beta1 = 1.0}), "pare::optim::adam", "beta1", "got 1");
  PARE_REQUIRE_ERROR(opt.add(w2, g2, {.lr = -1.0}), "pare::optim::adam", "lr", "-1");
  CHECK(opt.size() == 1);
  opt.step();
  CHECK(opt.steps() == 1);
  CHECK(w2[0] == 1.0f);  // never registered, never touched
}

TEST_CASE("a group overrides only the fields it sets") {
  std::vector<double> w(4, 1.0), g(4, 0.5), b(2, 1.0), gb(2, 0.5);
  po::adam<double> opt({.lr = 0.1, .beta1 = 0.8, .weight_decay = 0.01});
  opt.add(w, g);
  opt.add(b, gb, {.weight_decay = 0.0, .amsgrad = true});
  CHECK(opt.options(0).weight_decay == 0.01);
  CHECK(opt.options(1).weight_decay == 0.0);
  CHECK(opt.options(1).amsgrad);
  CHECK(opt.options(1).beta1 == 0.8);
  CHECK(opt.options(1).lr == 0.1);
  CHECK_THROWS_AS(opt.options(2), std::out_of_range);
}

TEST_CASE("set_lr moves every group, keeping each group's ratio to the base lr") {
  std::vector<float> w(4, 1.0f), g(4, 0.0f), b(2, 1.0f), gb(2, 0.0f), c(2, 1.0f), gc(2, 0.0f);
  po::sgd<float> opt({.lr = 0.1});
  opt.add(w, g);
  opt.add(b, gb, {.lr = 0.02});
  opt.set_lr(0.05);
  CHECK(opt.lr() == 0.05);
  CHECK(opt.options(0).lr == 0.05);
  CHECK(opt.options(1).lr == pare_test::Approx(0.01).epsilon(1e-15));
  // Effective: one step with g = 1 moves each parameter by its lr.
  std::fill(g.begin(), g.end(), 1.0f);
  std::fill(gb.begin(), gb.end(), 1.0f);
  opt.step();
  CHECK(w[0] == 1.0f - 0.05f);
  CHECK(b[0] == pare_test::Approx(1.0 - 0.01).epsilon(1e-6));
  PARE_REQUIRE_ERROR(opt.set_lr(-0.5), "pare::optim::sgd", "lr must be >= 0, got -0.5");
  PARE_REQUIRE_ERROR(opt.set_lr(std::nan("")), "pare::optim::sgd", "lr", "nan");
  CHECK(opt.lr() == 0.05);
  // With a zero base lr a group's own lr cannot keep a ratio: it stays as given.
  po::sgd<float> frozen({.lr = 0.0});
  frozen.add(c, gc, {.lr = 0.3});
  frozen.set_lr(0.7);
  CHECK(frozen.options(0).lr == 0.3);
}

TEST_CASE("a schedule drives the base lr: the first step uses s(0)") {
  std::vector<double> w(3, 0.0), g(3, 1.0), b(1, 0.0), gb(1, 1.0);
  po::sgd<double> opt({.lr = 1.0});
  opt.add(w, g);
  opt.add(b, gb, {.lr = 0.5});  // half the base
  opt.set_schedule([](std::int64_t t) { return 0.1 * static_cast<double>(t + 1); });
  double expect_w = 0, expect_b = 0;
  for (int t = 0; t < 4; ++t) {
    opt.step();
    expect_w -= 0.1 * (t + 1);
    expect_b -= 0.5 * 0.1 * (t + 1);
    CHECK(opt.lr() == pare_test::Approx(0.1 * (t + 1)).epsilon(1e-15));
    CHECK(w[0] == pare_test::Approx(expect_w).epsilon(1e-14));
    CHECK(b[0] == pare_test::Approx(expect_b).epsilon(1e-14));
  }
  opt.clear_schedule();
  opt.step();
  CHECK(w[0] == pare_test::Approx(expect_w - 0.4).epsilon(1e-14));  // the lr stays where it was
  opt.set_schedule([](std::int64_t) { return -1.0; });
  PARE_REQUIRE_ERROR(opt.step(), "pare::optim::sgd", "the schedule's lr must be >= 0, got -1");
  CHECK(opt.steps() == 5);
}

TEST_CASE("add rejects gradients that share memory with parameters") {
  std::vector<float> a(8, 1.0f), b(8, 1.0f), c(4, 1.0f), gc(4, 1.0f), d(4, 1.0f);
  po::sgd<float> opt;
  PARE_REQUIRE_ERROR(opt.add(tensor_view<float>(a.data(), {4}), tensor_view<const float>(a.data() + 2, {4})),
                     "pare::optim::sgd", "grad must not share memory with its param");
  opt.add(tensor_view<float>(a.data(), {4}), tensor_view<const float>(b.data(), {4}));
  PARE_REQUIRE_ERROR(opt.add(tensor_view<float>(b.data() + 2, {4}), tensor_view<const float>(d.data(), {4})),
                     "pare::optim::sgd", "param must not overlap a registered gradient", "parameter 0");
  PARE_REQUIRE_ERROR(opt.add(c, tensor_view<const float>(a.data() + 1, {4})), "pare::optim::sgd",
                     "grad must not overlap a registered parameter", "parameter 0");
  opt.add(c, gc);  // disjoint: fine
  CHECK(opt.size() == 2);
}
