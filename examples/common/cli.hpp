#pragma once
/// \file
/// Command-line options for the examples: `--flag`, `--name VALUE` and `--name=VALUE`, typed
/// targets, range checks and a generated `--help`.
///
///     bool quick = false; std::int64_t threads = 0; std::string json_path;
///     pare_examples::cli cli("fashion_mnist", "Compress a Fashion-MNIST classifier.");
///     cli.flag("quick", quick, "a small subset, for CI")
///        .option("threads", threads, "N", "threads (0 = all cores)", 0)
///        .option("json", json_path, "PATH", "write every result to PATH");
///     if (!cli.parse(argc, argv)) return 0;   // --help was printed
///
/// A bad command line throws `cli_error` with a one-line message naming the option and value.

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/core.h>

namespace pare_examples {

/// A malformed command line; `what()` is one line.
class cli_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A declarative command-line parser writing straight into the caller's variables.
class cli {
 public:
  cli(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}

  /// `--name` sets `target` to true.
  cli& flag(std::string name, bool& target, std::string help) {
    options_.push_back({std::move(name), "", std::move(help), &target});
    return *this;
  }
  /// `--name N`: an integer in [min, max].
  cli& option(std::string name, std::int64_t& target, std::string metavar, std::string help,
              std::int64_t min = std::numeric_limits<std::int64_t>::min(),
              std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
    options_.push_back({std::move(name), std::move(metavar), std::move(help), &target, min, max});
    return *this;
  }
  /// `--name N`: an unsigned integer (a seed).
  cli& option(std::string name, std::uint64_t& target, std::string metavar, std::string help) {
    options_.push_back({std::move(name), std::move(metavar), std::move(help), &target});
    return *this;
  }
  /// `--name TEXT`.
  cli& option(std::string name, std::string& target, std::string metavar, std::string help) {
    options_.push_back({std::move(name), std::move(metavar), std::move(help), &target});
    return *this;
  }

  /// Parses `argv`. Returns false after printing the help for `--help`/`-h`; throws `cli_error`
  /// for an unknown option, a missing or malformed value, or a positional argument.
  bool parse(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        fmt::print("{}", help());
        return false;
      }
      if (!arg.starts_with("--"))
        throw cli_error(fmt::format("unexpected argument '{}' (see --help)", arg));
      arg.remove_prefix(2);
      std::optional<std::string_view> value;
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      entry* e = find(arg);
      if (!e) throw cli_error(fmt::format("unknown option --{} (see --help)", arg));
      if (std::holds_alternative<bool*>(e->target)) {
        if (value) throw cli_error(fmt::format("--{} takes no value, got '{}'", arg, *value));
        *std::get<bool*>(e->target) = true;
        continue;
      }
      if (!value) {
        if (i + 1 >= argc) throw cli_error(fmt::format("--{} needs a value {}", arg, e->metavar));
        value = argv[++i];
      }
      set(*e, *value);
    }
    return true;
  }

  /// The usage text `--help` prints.
  [[nodiscard]] std::string help() const {
    std::string s = fmt::format("{}\n\nUsage: {} [options]\n\nOptions:\n", summary_, program_);
    for (const auto& o : options_) {
      const std::string left =
          o.metavar.empty() ? "--" + o.name : fmt::format("--{} {}", o.name, o.metavar);
      s += fmt::format("  {:<18} {}\n", left, o.help);
    }
    s += fmt::format("  {:<18} {}\n", "--help", "show this help and exit");
    return s;
  }

 private:
  struct entry {
    std::string name, metavar, help;
    std::variant<bool*, std::int64_t*, std::uint64_t*, std::string*> target;
    std::int64_t min = std::numeric_limits<std::int64_t>::min();
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
  };

  entry* find(std::string_view name) {
    for (auto& o : options_)
      if (o.name == name) return &o;
    return nullptr;
  }

  template <class I>
  static bool to_integer(std::string_view text, I& out) {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    return r.ec == std::errc() && r.ptr == text.data() + text.size();
  }

  static void set(entry& e, std::string_view value) {
    if (auto* s = std::get_if<std::string*>(&e.target)) {
      if (value.empty()) throw cli_error(fmt::format("--{} must not be empty", e.name));
      **s = std::string(value);
    } else if (auto* u = std::get_if<std::uint64_t*>(&e.target)) {
      if (!to_integer(value, **u))
        throw cli_error(
            fmt::format("--{} must be a non-negative integer, got '{}'", e.name, value));
    } else {
      std::int64_t v = 0;
      if (!to_integer(value, v) || v < e.min || v > e.max) {
        const bool has_min = e.min != std::numeric_limits<std::int64_t>::min();
        const bool has_max = e.max != std::numeric_limits<std::int64_t>::max();
        const std::string range = has_min && has_max ? fmt::format("an integer in [{}, {}]", e.min, e.max)
                                  : has_min          ? fmt::format("an integer ≥ {}", e.min)
                                  : has_max          ? fmt::format("an integer ≤ {}", e.max)
                                                     : std::string("an integer");
        throw cli_error(fmt::format("--{} must be {}, got '{}'", e.name, range, value));
      }
      *std::get<std::int64_t*>(e.target) = v;
    }
  }

  std::string program_, summary_;
  std::vector<entry> options_;
};

}  // namespace pare_examples
