#pragma once
// Catch2 v2 (Debian 12) or v3, whichever the build found: tests include this file only.
#if PARE_CATCH_MAJOR == 3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

namespace pare_test {
#if PARE_CATCH_MAJOR == 3
using Catch::Approx;
#else
using ::Catch::Detail::Approx;
#endif
}  // namespace pare_test

#include <string>
#include <string_view>

/// Requires that `expr` throws `pare::error` whose message contains every given substring
/// (component, argument, value...). Another exception type propagates and fails the test.
#define PARE_REQUIRE_ERROR(expr, ...)                                                  \
  do {                                                                                 \
    bool pare_thrown_ = false;                                                         \
    try {                                                                              \
      (void)(expr);                                                                    \
    } catch (const ::pare::error& pare_e_) {                                           \
      pare_thrown_ = true;                                                             \
      const std::string pare_what_ = pare_e_.what();                                   \
      for (std::string_view pare_s_ : {__VA_ARGS__}) {                                 \
        INFO("pare::error message: \"" << pare_what_ << "\", expected to contain \""   \
                                       << std::string(pare_s_) << "\"");              \
        CHECK(pare_what_.find(pare_s_) != std::string::npos);                          \
      }                                                                                \
    }                                                                                  \
    if (!pare_thrown_) FAIL_CHECK("expected a pare::error from: " #expr);             \
  } while (false)
