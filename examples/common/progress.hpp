#pragma once
/// \file
/// A terminal progress bar for training loops: progress, running loss, throughput, elapsed time.
///
///     pare_examples::progress_bar bar("teacher 3/20", samples_per_epoch);
///     bar.update(done, loss);           // cheap: redraws at most 10 times a second
///     bar.finish("val acc 0.8912");     // the final line stays on screen
///
/// On a terminal it redraws one line in place; when the output is not a terminal (a CI log, a
/// pipe) it prints only the final line, so logs stay readable.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace pare_examples {

/// Seconds since construction (steady clock).
class stopwatch {
 public:
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }
  void restart() { start_ = clock::now(); }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point start_ = clock::now();
};

/// "812", "41.2k", "1.31M": a rate or count in three significant digits.
inline std::string human(double v) {
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

/// How a progress bar shows itself.
enum class progress_style {
  automatic,  ///< `bar` when the stream is a terminal, else `lines`
  bar,        ///< redraw one line in place, keep the final line
  lines,      ///< print only the final line
  quiet,      ///< print nothing
};

/// One line of progress over `total` items (samples) with a running loss and items per second.
class progress_bar {
 public:
  progress_bar(std::string label, std::int64_t total,
               progress_style style = progress_style::automatic, std::FILE* out = stderr)
      : label_(std::move(label)), total_(std::max<std::int64_t>(total, 1)), out_(out) {
    if (style == progress_style::automatic)
      style = isatty(fileno(out)) ? progress_style::bar : progress_style::lines;
    style_ = style;
  }

  /// Reports `done` items so far and the running loss; redraws at most every 0.1 s.
  void update(std::int64_t done, double loss) {
    done_ = done;
    loss_ = loss;
    if (style_ != progress_style::bar) return;
    const double now = clock_.seconds();
    if (now - last_draw_ < 0.1 && done < total_) return;
    last_draw_ = now;
    draw("");
  }

  /// Ends the bar with `summary` appended, on a line of its own.
  void finish(std::string_view summary = {}) {
    if (style_ == progress_style::quiet) return;
    draw(summary);
    std::fputc('\n', out_);
    std::fflush(out_);
  }

  [[nodiscard]] double seconds() const { return clock_.seconds(); }
  [[nodiscard]] double rate() const {
    const double s = clock_.seconds();
    return s > 0 ? static_cast<double>(done_) / s : 0.0;
  }

 private:
  void draw(std::string_view summary) {
    std::fflush(stdout);  // what the program printed before the bar comes first in a shared log
    constexpr int width = 24;
    const double f = std::clamp(static_cast<double>(done_) / static_cast<double>(total_), 0.0, 1.0);
    const int full = static_cast<int>(f * width);
    std::string bar(static_cast<std::size_t>(full), '=');
    if (full < width) bar += '>';
    bar.resize(width, ' ');
    const std::string line =
        fmt::format("{:<16} [{}] {:3.0f}%  loss {:.4f}  {:>6} samples/s  {:5.1f}s{}{}", label_,
                    bar, 100 * f, loss_, human(rate()), clock_.seconds(),
                    summary.empty() ? "" : "  ", summary);
    if (style_ == progress_style::bar)
      fmt::print(out_, "\r{}\x1b[K", line);  // \x1b[K clears what a longer line left behind
    else
      fmt::print(out_, "{}", line);
    std::fflush(out_);
  }

  std::string label_;
  std::int64_t total_, done_ = 0;
  double loss_ = 0, last_draw_ = -1;
  std::FILE* out_;
  progress_style style_;
  stopwatch clock_;
};

}  // namespace pare_examples
