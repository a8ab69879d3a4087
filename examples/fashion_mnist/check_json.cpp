// Checks a results file of the Fashion-MNIST demo: it parses, every required key (a dotted path
// such as teacher.test_accuracy) is present, and every number in it is sane. CI runs it on the
// output of `fashion_mnist --quick --json PATH`.
//
//   fashion_mnist_check_json PATH [--min-accuracy A] KEY...
//
// Sane means: a key named like an accuracy (`*accuracy`, or `mean` inside an accuracy summary)
// is in [A, 1]; a size (`*bytes`) or a time (`seconds`, `*_seconds`) is positive; a loss is
// finite and non-negative; no number is null (JSON's stand-in for NaN and infinity). A KEY may
// address list elements: `pruning[].test_accuracy` (every element has it, the list is not
// empty), `quantization[method=qat4].bytes` (an element whose method is qat4 has it). Prints one
// line per problem and "N passed, N failed".
#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace ex = pare_examples;

namespace {

struct checker {
  double min_accuracy = 0.5;
  int passed = 0, failed = 0;

  void expect(bool ok, const std::string& what) {
    if (ok) {
      ++passed;
    } else {
      ++failed;
      fmt::print("FAILED: {}\n", what);
    }
  }

  static bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

  /// Walks the tree and checks every number by the name of its key.
  void walk(const ex::json& v, const std::string& path, std::string_view key, bool in_accuracy) {
    if (v.is_object()) {
      for (const auto& [k, child] : v.as_object())
        walk(child, path.empty() ? k : path + "." + k, k,
             in_accuracy || k.find("accuracy") != std::string::npos ||
                 k.starts_with("student_"));
      return;
    }
    if (v.is_array()) {
      for (std::size_t i = 0; i < v.as_array().size(); ++i)
        walk(v.as_array()[i], fmt::format("{}[{}]", path, i), key, in_accuracy);
      return;
    }
    if (v.is_null()) {
      expect(false, fmt::format("{} is null (NaN or infinity)", path));
      return;
    }
    if (!v.is_number()) return;
    const double x = v.as_number();
    if (ends_with(key, "accuracy") || (in_accuracy && key == "mean"))
      expect(x >= min_accuracy && x <= 1,
             fmt::format("{} = {} is not in [{}, 1]", path, x, min_accuracy));
    else if (ends_with(key, "bytes") || key == "seconds" || ends_with(key, "_seconds"))
      expect(x > 0, fmt::format("{} = {} is not positive", path, x));
    else if (ends_with(key, "loss"))
      expect(std::isfinite(x) && x >= 0, fmt::format("{} = {} is not a finite loss", path, x));
  }

  /// Checks that a required KEY is present. A KEY is a dotted path of object members, where a
  /// member holding a list may be followed by `[]` (every element must have the rest of the path;
  /// the list must be non-empty) or `[field=value]` (some element's `field` is the string or
  /// number `value`, and that element has the rest of the path):
  ///
  ///     teacher.test_accuracy   pruning[].nonzero_bytes   quantization[method=qat4].bytes
  void require(const ex::json& root, std::string_view key) {
    std::string problem;
    const bool ok = present(root, key, problem);
    expect(ok, fmt::format("required key {} {}", key, problem));
  }

  static bool present(const ex::json& v, std::string_view path, std::string& problem) {
    if (path.empty()) {
      if (v.is_array() && v.as_array().empty()) return (problem = "is an empty list"), false;
      return true;
    }
    const auto end = path.find_first_of(".[");
    const std::string_view name = path.substr(0, end);
    const ex::json* child = v.find(name);
    if (!child) return (problem = fmt::format("is missing (no member {})", name)), false;
    path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
    if (path.starts_with('.')) return present(*child, path.substr(1), problem);
    if (!path.starts_with('[')) return present(*child, path, problem);
    const auto close = path.find(']');
    const std::string_view selector = path.substr(1, close - 1);
    std::string_view rest = close == std::string_view::npos ? std::string_view{} : path.substr(close + 1);
    if (rest.starts_with('.')) rest.remove_prefix(1);
    if (!child->is_array() || child->as_array().empty())
      return (problem = fmt::format("is missing ({} is not a non-empty list)", name)), false;
    if (selector.empty()) {
      for (const auto& e : child->as_array())
        if (!present(e, rest, problem)) return false;
      return true;
    }
    const auto eq = selector.find('=');
    const std::string_view field = selector.substr(0, eq);
    const std::string_view want = eq == std::string_view::npos ? std::string_view{} : selector.substr(eq + 1);
    for (const auto& e : child->as_array()) {
      const ex::json* f = e.find(field);
      if (f && ((f->is_string() && f->as_string() == want) ||
                (f->is_number() && fmt::format("{}", f->as_number()) == want)))
        return present(e, rest, problem);
    }
    problem = fmt::format("is missing (no element of {} with {} = {})", name, field, want);
    return false;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: fashion_mnist_check_json PATH [--min-accuracy A] KEY...\n");
    return 2;
  }
  checker c;
  std::vector<std::string> keys;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--min-accuracy" && i + 1 < argc) {
      const std::string_view v = argv[++i];
      if (std::from_chars(v.data(), v.data() + v.size(), c.min_accuracy).ptr != v.data() + v.size()) {
        fmt::print(stderr, "--min-accuracy must be a number, got '{}'\n", v);
        return 2;
      }
    } else {
      keys.emplace_back(a);
    }
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    fmt::print("FAILED: cannot open {}\n0 passed, 1 failed\n", argv[1]);
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  ex::json root;
  try {
    root = ex::json::parse(text.str());
  } catch (const ex::json_error& e) {
    fmt::print("FAILED: {}: {}\n0 passed, 1 failed\n", argv[1], e.what());
    return 1;
  }
  for (const auto& k : keys) c.require(root, k);
  c.walk(root, "", "", false);
  fmt::print("{} passed, {} failed\n", c.passed, c.failed);
  return c.failed == 0 ? 0 : 1;
}
