// Every pare::sched schedule over the same 100 steps, one small panel each, in one SVG.
//
//   schedules_gallery [output.svg]      (default: schedules.svg)
//
// docs/schedules.svg is this program's output; a ctest regenerates it and checks that the
// committed file is still identical.
#include <pare/sched.hpp>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "common/svg_chart.hpp"

namespace ps = pare::sched;
namespace svg = pare_examples::svg;

namespace {

constexpr std::int64_t steps = 100;

// s(0), s(1), ..., s(steps) as a series.
template <ps::schedule S>
svg::series curve(const S& s, std::string name = {}) {
  svg::series out{.name = std::move(name)};
  for (std::int64_t t = 0; t <= steps; ++t) {
    out.x.push_back(static_cast<double>(t));
    out.y.push_back(static_cast<double>(s(t)));
  }
  return out;
}

svg::panel make_panel(std::string title, std::string subtitle, std::vector<svg::series> lines,
                      bool log_y = false, std::string x_label = "step", std::string y_label = "lr") {
  svg::panel p{.title = std::move(title),
               .subtitle = std::move(subtitle),
               .x = {.label = std::move(x_label), .min = 0.0, .max = static_cast<double>(steps)},
               .y = {.label = std::move(y_label), .log = log_y},
               .lines = std::move(lines)};
  if (!log_y) p.y.min = 0.0;
  return p;
}

std::vector<svg::panel> gallery() {
  std::vector<svg::panel> panels;

  const ps::constant constant{.lr = 0.05};
  panels.push_back(make_panel("constant", fmt::format(".lr={}", constant.lr), {curve(constant)}));

  const ps::step_decay step{.base_lr = 0.1, .step_size = 30, .gamma = 0.5};
  panels.push_back(make_panel(
      "step_decay",
      fmt::format(".base_lr={} .step_size={} .gamma={}", step.base_lr, step.step_size, step.gamma),
      {curve(step)}));

  const ps::multistep_decay multi{.base_lr = 0.1, .milestones = {30, 60, 80}, .gamma = 0.5};
  panels.push_back(make_panel("multistep_decay",
                              fmt::format(".base_lr={} .milestones={{{}}} .gamma={}", multi.base_lr,
                                          fmt::join(multi.milestones, ", "), multi.gamma),
                              {curve(multi)}));

  const ps::exponential_decay smooth{.base_lr = 0.1, .gamma = 0.96};
  const ps::exponential_decay stairs{
      .base_lr = 0.1, .gamma = 0.5, .decay_steps = 20, .staircase = true};
  panels.push_back(make_panel(
      "exponential_decay", "log-scale lr; .base_lr=0.1",
      {curve(smooth, fmt::format(".gamma={}", smooth.gamma)),
       curve(stairs, fmt::format(".gamma={} .decay_steps={} .staircase", stairs.gamma,
                                 stairs.decay_steps))},
      true));

  const ps::piecewise_constant piecewise{.boundaries = {25, 50, 75},
                                         .values = {0.1, 0.05, 0.02, 0.01}};
  panels.push_back(make_panel("piecewise_constant",
                              fmt::format(".boundaries={{{}}} .values={{{}}}",
                                          fmt::join(piecewise.boundaries, ", "),
                                          fmt::join(piecewise.values, ", ")),
                              {curve(piecewise)}));

  const ps::cosine_annealing cosine{.base_lr = 0.1, .t_max = 40, .eta_min = 0.01};
  panels.push_back(make_panel(
      "cosine_annealing (rises past t_max)",
      fmt::format(".base_lr={} .t_max={} .eta_min={}", cosine.base_lr, cosine.t_max, cosine.eta_min),
      {curve(cosine)}));

  const ps::cosine_warm_restarts sgdr2{.base_lr = 0.1, .t_0 = 10, .t_mult = 2};
  const ps::cosine_warm_restarts sgdr1{.base_lr = 0.1, .t_0 = 25};
  panels.push_back(make_panel(
      "cosine_warm_restarts", ".base_lr=0.1",
      {curve(sgdr2, fmt::format(".t_0={} .t_mult={}", sgdr2.t_0, sgdr2.t_mult)),
       curve(sgdr1, fmt::format(".t_0={} .t_mult={}", sgdr1.t_0, sgdr1.t_mult))}));

  const ps::linear up{.base_lr = 0.1, .total_iters = 50};
  const ps::linear down{.base_lr = 0.1, .start_factor = 1, .end_factor = 0.1, .total_iters = 80};
  panels.push_back(make_panel(
      "linear", ".base_lr=0.1",
      {curve(up, fmt::format("1/3 → {}, .total_iters={}", up.end_factor, up.total_iters)),
       curve(down, fmt::format("{} → {}, .total_iters={}", down.start_factor, down.end_factor,
                               down.total_iters))}));

  const ps::polynomial_decay square{.base_lr = 0.1, .total_iters = 100, .power = 2};
  const ps::polynomial_decay root{
      .base_lr = 0.1, .total_iters = 80, .power = 0.5, .end_lr = 0.01};
  panels.push_back(make_panel(
      "polynomial_decay", ".base_lr=0.1",
      {curve(square, fmt::format(".total_iters={} .power={}", square.total_iters, square.power)),
       curve(root, fmt::format(".total_iters={} .power={} .end_lr={}", root.total_iters,
                               root.power, root.end_lr))}));

  const ps::one_cycle cycle{.max_lr = 0.1, .total_steps = steps};
  const ps::one_cycle three{.max_lr = 0.1,
                            .total_steps = steps,
                            .pct_start = 0.25,
                            .anneal = ps::anneal_strategy::linear,
                            .three_phase = true};
  panels.push_back(make_panel(
      "one_cycle", fmt::format(".max_lr={} .total_steps={}", cycle.max_lr, cycle.total_steps),
      {curve(cycle, fmt::format("cos, .pct_start={}", cycle.pct_start)),
       curve(three, fmt::format("linear, .pct_start={} .three_phase", three.pct_start))}));

  const ps::warmup warm(ps::cosine_annealing{.base_lr = 0.1, .t_max = 90}, {.steps = 10});
  panels.push_back(make_panel("warmup(cosine_annealing)",
                              fmt::format(".steps={} .start_factor={}; .t_max=90",
                                          warm.options().steps, warm.options().start_factor),
                              {curve(warm)}));

  const ps::sequence seq({ps::linear{.base_lr = 0.1, .start_factor = 0.1, .total_iters = 10},
                          ps::constant{.lr = 0.1},
                          ps::cosine_annealing{.base_lr = 0.1, .t_max = 60, .eta_min = 0.005}},
                         {10, 40});
  panels.push_back(make_panel("sequence(linear, constant, cosine)",
                              fmt::format("milestones {{{}}}", fmt::join(seq.milestones(), ", ")),
                              {curve(seq)}));

  // reduce_on_plateau is driven by a metric: a synthetic validation loss that flattens out.
  // Epoch e's rate is the one observe() returned after epoch e − 1's metric.
  ps::reduce_on_plateau plateau({.base_lr = 0.1, .factor = 0.5, .patience = 5, .cooldown = 2});
  svg::series lr{}, metric{.name = "validation loss (synthetic)"};
  for (std::int64_t e = 0; e <= steps; ++e) {
    const double t = static_cast<double>(e);
    const double loss = 0.5 * std::exp(-t / 12) + 0.2 + 0.01 * std::sin(1.7 * t);
    lr.x.push_back(t);
    lr.y.push_back(plateau.lr());
    metric.x.push_back(t);
    metric.y.push_back(loss);
    plateau.observe(loss);
  }
  panels.push_back(make_panel("reduce_on_plateau",
                              fmt::format(".base_lr={} .factor={} .patience={} .cooldown={}",
                                          plateau.options().base_lr, plateau.options().factor,
                                          plateau.options().patience, plateau.options().cooldown),
                              {lr}, false, "epoch"));
  panels.push_back(make_panel("… the metric it observed", "0.5·exp(−t/12) + 0.2 + 0.01·sin(1.7t)",
                              {metric}, false, "epoch", "loss"));
  return panels;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "schedules.svg";
  try {
    const auto panels = gallery();
    svg::write(path, panels,
               {.title = "pare::sched — every schedule over the same 100 steps", .columns = 4});
    fmt::print("wrote {} panels to {}\n", panels.size(), path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "schedules_gallery: {}\n", e.what());
    return 1;
  }
  return 0;
}
