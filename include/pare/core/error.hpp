#pragma once
/// \file
/// `pare::error` and the helpers that build its messages.
///
/// Every bad configuration or mismatched shape is reported by throwing `pare::error` with a
/// message that names the component, the argument, the value and what was expected:
///
///     pare::optim::adam: beta1 must be in [0, 1), got 1.5
///
/// Hot loops never throw: validation happens at construction and registration time.

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace pare {

/// The one exception type pare throws for bad input (derives from `std::invalid_argument`).
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

/// Shortest text that reads back as the same value ("1.5", "1e-08", "nan", "-inf").
inline std::string to_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
inline std::string to_text(float v) { return to_text(static_cast<double>(v)); }
template <std::integral I>
  requires(!std::same_as<I, bool>)
std::string to_text(I v) {
  return std::to_string(v);
}
inline std::string to_text(bool v) { return v ? "true" : "false"; }
inline std::string to_text(std::string_view v) { return std::string(v); }
inline std::string to_text(const char* v) { return std::string(v); }
inline std::string to_text(const std::string& v) { return v; }
/// A shape reads as "[2, 3, 4]".
inline std::string to_text(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

/// Throws `pare::error("<component>: <message>")`.
[[noreturn]] inline void fail(std::string_view component, std::string_view message) {
  std::string m;
  m.reserve(component.size() + message.size() + 2);
  m.append(component).append(": ").append(message);
  throw error(m);
}

/// Throws `pare::error("<component>: <argument> must be <expected>, got <value>")`.
template <class V>
[[noreturn]] void fail_value(std::string_view component, std::string_view argument,
                             std::string_view expected, const V& value) {
  std::string m;
  m.append(argument).append(" must be ").append(expected).append(", got ").append(to_text(value));
  fail(component, m);
}

/// Checks `cond`; when false throws the `fail_value` message. Cheap enough for registration
/// paths; never used inside kernels.
template <class V>
void require(bool cond, std::string_view component, std::string_view argument,
             std::string_view expected, const V& value) {
  if (!cond) fail_value(component, argument, expected, value);
}

}  // namespace detail
}  // namespace pare
