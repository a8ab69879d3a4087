#pragma once
// svg_chart.hpp — small, dependency-free line charts as SVG text (fmt for formatting only).
//
// A chart is a grid of panels ("small multiples"), each with its own axes, ticks, labels,
// title and legend, and any number of line series. Output is deterministic: every number is
// written with a fixed format, so the same data gives byte-identical files (examples commit their
// charts and CI regenerates them to compare).
//
// API (namespace pare_examples::svg):
//
//   struct series {            // one line
//     std::string name;        //   legend label ("" = not in the legend)
//     std::vector<double> x, y;//   same length; a non-finite y (or y ≤ 0 on a log axis) breaks
//                              //   the line into separate pieces
//     std::string color;       //   any SVG colour; "" = the palette colour for its index
//     bool dashed = false;     //   dashed stroke
//     bool line = true;        //   draw the connecting line
//     bool markers = false;    //   draw a dot at each point (markers without line = scatter)
//   };
//   struct axis {
//     std::string label;       //   drawn under (x) or beside (y) the plot
//     bool log = false;        //   base-10 logarithmic scale, ticks at powers of ten
//     std::optional<double> min, max;   // fixed ends; unset = from the data, rounded to ticks
//   };
//   struct panel {
//     std::string title, subtitle;      // bold title and a smaller line under it (e.g. options)
//     axis x, y;
//     std::vector<series> lines;
//     bool legend = true;      //   a legend of the named series (placed as said below)
//   };
//   struct chart_options {
//     std::string title;       //   heading over the whole grid ("" = none)
//     int columns = 3;         //   panels per row; rows follow
//     double panel_width = 320, panel_height = 220;   // pixels per panel, margins included
//     double font_size = 11;
//   };
//
// Axes without min/max span the data, widened to whole ticks (1, 2 or 5 × 10^k apart; powers
// of ten with light 2…9 grid lines on a log axis). Give y.min = 0 to anchor rates at zero.
// The legend sits inside the plot in the first corner (top right, top left, bottom right,
// bottom left) where it hides no data point, else above the plot. The y margin widens to fit
// the tick labels.
//
//   std::string render(std::span<const panel>, const chart_options&);   // the SVG document
//   void write(const std::string& path, std::span<const panel>, const chart_options&);
//                                      // render + write; std::runtime_error if it cannot
//
// Example:
//
//   namespace svg = pare_examples::svg;
//   svg::panel p{.title = "loss", .x = {.label = "epoch"}, .y = {.label = "loss", .log = true}};
//   p.lines.push_back({.name = "train", .x = epochs, .y = train_loss});
//   p.lines.push_back({.name = "test", .x = epochs, .y = test_loss, .dashed = true});
//   svg::write("loss.svg", std::vector{p}, {.title = "Training", .columns = 1});
//
// A horizontal reference line (a target accuracy, say) is a two-point series.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pare_examples::svg {

struct series {
  std::string name = {};
  std::vector<double> x = {}, y = {};
  std::string color = {};
  bool dashed = false;
  bool line = true;
  bool markers = false;
};

struct axis {
  std::string label = {};
  bool log = false;
  std::optional<double> min = {}, max = {};
};

struct panel {
  std::string title = {}, subtitle = {};
  axis x = {}, y = {};
  std::vector<series> lines = {};
  bool legend = true;
};

struct chart_options {
  std::string title = {};
  int columns = 3;
  double panel_width = 320, panel_height = 220;
  double font_size = 11;
};

namespace detail {

// Okabe & Ito's colour-blind-safe palette (black last).
inline constexpr std::array<std::string_view, 8> palette = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"};

inline std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Pixel coordinates: two decimals, and never "-0.00".
inline std::string px(double v) {
  std::string s = fmt::format("{:.2f}", v);
  if (s == "-0.00") s = "0.00";
  return s;
}

// "1e-05" → "1e-5", "2.5e+03" → "2.5e3".
inline std::string compact_exponent(std::string s) {
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), ex = s.substr(e + 1);
  const bool neg = !ex.empty() && ex[0] == '-';
  if (!ex.empty() && (ex[0] == '-' || ex[0] == '+')) ex.erase(0, 1);
  ex.erase(0, std::min(ex.find_first_not_of('0'), ex.size() - 1));
  return mant + "e" + (neg ? "-" : "") + ex;
}

// A tick label for value v on an axis whose ticks are `step` apart.
inline std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) return "0";
  const double mag = std::max(std::abs(v), step);
  if (mag >= 1e5 || mag < 1e-3) {
    // As many mantissa digits as the step needs, trailing zeros dropped: 4e10, 2.5e-5.
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(mag) + 1e-9) -
                                                    std::floor(std::log10(step) + 1e-9)));
    std::string s = fmt::format("{:.{}e}", v, std::min(digits, 6));
    const auto e = s.find('e');
    std::string mant = s.substr(0, e);
    if (mant.find('.') != std::string::npos) {
      mant.erase(mant.find_last_not_of('0') + 1);
      if (mant.back() == '.') mant.pop_back();
    }
    return compact_exponent(mant + s.substr(e));
  }
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", v, std::min(decimals, 10));
}

// Heckbert's "nice numbers": a step of 1, 2 or 5 × 10^k giving about `target` intervals.
inline double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

// One axis, resolved: data range → [lo, hi] in axis units (log10 units on a log axis), ticks.
struct scale {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;  // in axis units
  std::vector<std::string> labels;
  std::vector<double> minor;  // minor grid lines, axis units (log axes)

  [[nodiscard]] double unit(double v) const { return log ? std::log10(v) : v; }
  [[nodiscard]] bool usable(double v) const { return std::isfinite(v) && (!log || v > 0); }
  // Fraction of the way from lo to hi.
  [[nodiscard]] double frac(double v) const { return (unit(v) - lo) / (hi - lo); }
};

inline scale make_scale(const axis& a, double data_lo, double data_hi, int target_ticks) {
  scale s;
  s.log = a.log;
  bool have = std::isfinite(data_lo) && std::isfinite(data_hi);
  double lo = a.min ? s.unit(*a.min) : (have ? s.unit(data_lo) : 0.0);
  double hi = a.max ? s.unit(*a.max) : (have ? s.unit(data_hi) : 1.0);
  if (!(hi > lo)) {  // one value (or nothing): open a window around it
    const double pad = s.log ? 1.0 : (lo != 0 ? std::abs(lo) * 0.1 : 1.0);
    if (!a.min) lo -= pad;
    if (!a.max) hi += pad;
    if (!(hi > lo)) hi = lo + 1;
  }
  if (s.log) {
    if (!a.min) lo = std::floor(lo + 1e-9);
    if (!a.max) hi = std::ceil(hi - 1e-9);
    if (!(hi > lo)) hi = lo + 1;
    const int span = static_cast<int>(std::ceil(hi - lo));
    const int every = std::max(1, (span + target_ticks - 1) / target_ticks);
    const double first = std::ceil(lo - 1e-9);
    // Plain decimals when every tick is between 0.001 and 10^4, else 1eN throughout.
    const bool plain = first >= -3 && hi <= 4 + 1e-9;
    for (double k = first; k <= hi + 1e-9; k += every) {
      s.ticks.push_back(k);
      s.labels.push_back(plain ? fmt::format("{:.{}f}", std::pow(10.0, k),
                                             k < 0 ? static_cast<int>(-k) : 0)
                               : fmt::format("1e{}", static_cast<int>(k)));
    }
    if (span <= 4) {  // light grid lines at 2…9 × 10^k
      for (double k = std::floor(lo); k < hi; k += 1) {
        for (int m = 2; m <= 9; ++m) {
          const double u = k + std::log10(static_cast<double>(m));
          if (u > lo && u < hi) s.minor.push_back(u);
        }
      }
    }
  } else {
    const double step = nice_step(hi - lo, target_ticks);
    if (!a.min) lo = std::floor(lo / step + 1e-9) * step;
    if (!a.max) hi = std::ceil(hi / step - 1e-9) * step;
    for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1) {
      const double v = k * step;
      s.ticks.push_back(v);
      s.labels.push_back(tick_label(v, step));
    }
  }
  s.lo = lo;
  s.hi = hi;
  return s;
}

// Rough text width for layout (no font metrics in SVG): 0.6 em per character.
inline double text_width(std::string_view s, double size) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return 0.6 * size * static_cast<double>(chars);
}

// Where a panel's plot area lies, and its scales.
struct frame {
  double x0, y0, w, h;
  scale sx, sy;
  [[nodiscard]] double X(double v) const { return x0 + sx.frac(v) * w; }
  [[nodiscard]] double Y(double v) const { return y0 + h - sy.frac(v) * h; }
  [[nodiscard]] bool usable(const series& s, std::size_t i) const {
    return sx.usable(s.x[i]) && sy.usable(s.y[i]);
  }
};

inline frame make_frame(const panel& p, double ox, double oy, double extra_top,
                        const chart_options& o) {
  const double fs = o.font_size;
  const double top = (p.subtitle.empty() ? 1.9 : 3.1) * fs + extra_top;
  const double right = 1.2 * fs, bottom = 3.3 * fs;
  frame f{ox, oy + top, 0, o.panel_height - top - bottom, {}, {}};
  // Data ranges over the points each axis can show.
  constexpr double inf = std::numeric_limits<double>::infinity();
  double xlo = inf, xhi = -inf, ylo = inf, yhi = -inf;
  for (const auto& s : p.lines) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      const bool xs = std::isfinite(s.x[i]) && (!p.x.log || s.x[i] > 0);
      const bool ys = std::isfinite(s.y[i]) && (!p.y.log || s.y[i] > 0);
      if (!xs || !ys) continue;
      xlo = std::min(xlo, s.x[i]);
      xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]);
      yhi = std::max(yhi, s.y[i]);
    }
  }
  f.sy = make_scale(p.y, ylo, yhi, std::max(2, static_cast<int>(f.h / (3.5 * fs))));
  // The left margin makes room for the widest y tick label and the rotated y label.
  double label_w = 0;
  for (const auto& l : f.sy.labels) label_w = std::max(label_w, text_width(l, fs));
  const double left = std::max(4.9 * fs, label_w + 2.6 * fs);
  f.x0 = ox + left;
  f.w = o.panel_width - left - right;
  f.sx = make_scale(p.x, xlo, xhi, std::max(2, static_cast<int>(f.w / (4.5 * fs))));
  return f;
}

// Data points of `p` that a box would hide.
inline std::size_t hidden_points(const panel& p, const frame& f, double bx, double by, double bw,
                                 double bh) {
  std::size_t hidden = 0;
  for (const auto& s : p.lines) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!f.usable(s, i)) continue;
      const double x = f.X(s.x[i]), y = f.Y(s.y[i]);
      hidden += x >= bx && x <= bx + bw && y >= by && y <= by + bh;
    }
  }
  return hidden;
}

inline void render_panel(std::string& out, const panel& p, std::size_t index, double ox,
                         double oy, const chart_options& o) {
  const double fs = o.font_size;

  // Legend size: one row per named series.
  std::vector<std::size_t> named;
  for (std::size_t k = 0; k < p.lines.size(); ++k) {
    if (!p.lines[k].name.empty()) named.push_back(k);
  }
  const bool legend = p.legend && !named.empty();
  double tw = 0;
  for (auto k : named) tw = std::max(tw, text_width(p.lines[k].name, fs * 0.9));
  const double row = 1.2 * fs, sample = 1.8 * fs, pad = 0.4 * fs;
  const double bw = tw + sample + 1.2 * fs;
  const double bh = row * static_cast<double>(named.size()) + 0.5 * fs;

  // The legend goes inside the plot, in the first corner (top right, top left, bottom right,
  // bottom left) where it hides no data; when every corner would, above the plot instead.
  frame f = make_frame(p, ox, oy, 0, o);
  double bx = 0, by = 0;
  bool boxed = true;
  if (legend) {
    const std::array<std::array<double, 2>, 4> corners = {{
        {f.x0 + f.w - bw - pad, f.y0 + pad},
        {f.x0 + pad, f.y0 + pad},
        {f.x0 + f.w - bw - pad, f.y0 + f.h - bh - pad},
        {f.x0 + pad, f.y0 + f.h - bh - pad}}};
    bool placed = false;
    for (const auto& c : corners) {
      if (bw + 2 * pad <= f.w && hidden_points(p, f, c[0] - pad, c[1] - pad, bw + 2 * pad,
                                               bh + 2 * pad) == 0) {
        bx = c[0];
        by = c[1];
        placed = true;
        break;
      }
    }
    if (!placed) {
      f = make_frame(p, ox, oy, bh, o);
      bx = f.x0;
      by = f.y0 - bh - 0.2 * fs;
      boxed = false;
    }
  }
  const double x0 = f.x0, y0 = f.y0, w = f.w, h = f.h;
  const scale& sx = f.sx;
  const scale& sy = f.sy;

  // Titles.
  out += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"{}\">{}</text>\n",
      px(x0 + w / 2), px(oy + 1.3 * fs), px(fs * 1.1), escape(p.title));
  if (!p.subtitle.empty()) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"#444\">{}</text>\n",
        px(x0 + w / 2), px(oy + 2.45 * fs), px(fs * 0.85), escape(p.subtitle));
  }

  // Frame, grid and ticks.
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
      px(x0), px(y0), px(w), px(h));
  for (double u : sx.minor) {
    const double x = x0 + (u - sx.lo) / (sx.hi - sx.lo) * w;
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#f0f0f0\"/>\n",
                       px(x), px(y0), px(y0 + h));
  }
  for (double u : sy.minor) {
    const double y = y0 + h - (u - sy.lo) / (sy.hi - sy.lo) * h;
    out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#f0f0f0\"/>\n",
                       px(x0), px(x0 + w), px(y));
  }
  for (std::size_t i = 0; i < sx.ticks.size(); ++i) {
    const double x = x0 + (sx.ticks[i] - sx.lo) / (sx.hi - sx.lo) * w;
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>\n",
                       px(x), px(y0), px(y0 + h));
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#999\"/>\n",
                       px(x), px(y0 + h), px(y0 + h + 0.35 * fs));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(x),
                       px(y0 + h + 1.3 * fs), escape(sx.labels[i]));
  }
  for (std::size_t i = 0; i < sy.ticks.size(); ++i) {
    const double y = y0 + h - (sy.ticks[i] - sy.lo) / (sy.hi - sy.lo) * h;
    out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>\n",
                       px(x0), px(x0 + w), px(y));
    out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#999\"/>\n",
                       px(x0 - 0.35 * fs), px(x0), px(y));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       px(x0 - 0.55 * fs), px(y + 0.35 * fs), escape(sy.labels[i]));
  }
  if (!p.x.label.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">{}</text>\n",
                       px(x0 + w / 2), px(y0 + h + 2.6 * fs), escape(p.x.label));
  }
  if (!p.y.label.empty()) {
    const double lx = ox + 1.0 * fs, ly = y0 + h / 2;
    out += fmt::format(
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" fill=\"#333\" "
        "transform=\"rotate(-90 {0} {1})\">{2}</text>\n",
        px(lx), px(ly), escape(p.y.label));
  }

  // Series, clipped to the plot area.
  const auto color_of = [&](std::size_t k) {
    return p.lines[k].color.empty() ? std::string(palette[k % palette.size()]) : p.lines[k].color;
  };
  const std::string clip = fmt::format("clip{}", index);
  out += fmt::format(
      "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", clip,
      px(x0), px(y0), px(w), px(h));
  out += fmt::format("<g clip-path=\"url(#{})\" fill=\"none\" stroke-width=\"1.6\">\n", clip);
  for (std::size_t k = 0; k < p.lines.size(); ++k) {
    const series& s = p.lines[k];
    const std::string color = escape(color_of(k));
    const std::size_t n = std::min(s.x.size(), s.y.size());
    if (s.line) {
      std::string d;
      bool pen_down = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (!f.usable(s, i)) {
          pen_down = false;
          continue;
        }
        d += fmt::format("{}{} {}", pen_down ? " L" : (d.empty() ? "M" : " M"), px(f.X(s.x[i])),
                         px(f.Y(s.y[i])));
        pen_down = true;
      }
      if (!d.empty()) {
        out += fmt::format("<path d=\"{}\" stroke=\"{}\"{}/>\n", d, color,
                           s.dashed ? " stroke-dasharray=\"5 3\"" : "");
      }
    }
    if (s.markers) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!f.usable(s, i)) continue;
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.4\" fill=\"{}\" stroke=\"none\"/>\n",
                           px(f.X(s.x[i])), px(f.Y(s.y[i])), color);
      }
    }
  }
  out += "</g>\n";

  if (!legend) return;
  if (boxed) {
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\" "
        "stroke=\"#ccc\"/>\n",
        px(bx), px(by), px(bw), px(bh));
  }
  for (std::size_t r = 0; r < named.size(); ++r) {
    const series& s = p.lines[named[r]];
    const std::string color = escape(color_of(named[r]));
    const double ly = by + 0.25 * fs + row * (static_cast<double>(r) + 0.5);
    if (s.line) {
      out += fmt::format(
          "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.6\"{4}/>\n",
          px(bx + 0.4 * fs), px(bx + sample), px(ly), color,
          s.dashed ? " stroke-dasharray=\"5 3\"" : "");
    }
    if (s.markers) {
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.4\" fill=\"{}\"/>\n",
                         px(bx + 0.2 * fs + sample / 2), px(ly), color);
    }
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"{}\">{}</text>\n",
                       px(bx + sample + 0.4 * fs), px(ly + 0.32 * fs), px(fs * 0.9),
                       escape(s.name));
  }
}

}  // namespace detail

/// The SVG document for `panels`, laid out `o.columns` to a row.
inline std::string render(std::span<const panel> panels, const chart_options& o) {
  const int columns = std::max(1, o.columns);
  const std::size_t rows = (panels.size() + static_cast<std::size_t>(columns) - 1) /
                           static_cast<std::size_t>(columns);
  const double head = o.title.empty() ? 0.0 : 2.6 * o.font_size;
  const double width = o.panel_width * columns;
  const double height = head + o.panel_height * static_cast<double>(std::max<std::size_t>(rows, 1));
  std::string out;
  out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"{2}\">\n",
      detail::px(width), detail::px(height), detail::px(o.font_size));
  out += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", detail::px(width),
                     detail::px(height));
  if (!o.title.empty()) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"{}\">{}</text>\n",
        detail::px(width / 2), detail::px(1.8 * o.font_size), detail::px(1.45 * o.font_size),
        detail::escape(o.title));
  }
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const double ox = o.panel_width * static_cast<double>(i % static_cast<std::size_t>(columns));
    const double oy = head + o.panel_height * static_cast<double>(i / static_cast<std::size_t>(columns));
    out += fmt::format("<g>\n");
    detail::render_panel(out, panels[i], i, ox, oy, o);
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

/// Renders and writes the chart to `path`; throws std::runtime_error if the file cannot be
/// written.
inline void write(const std::string& path, std::span<const panel> panels, const chart_options& o) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("svg_chart: cannot open " + path + " for writing");
  const std::string s = render(panels, o);
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
  if (!f) throw std::runtime_error("svg_chart: cannot write " + path);
}

}  // namespace pare_examples::svg
