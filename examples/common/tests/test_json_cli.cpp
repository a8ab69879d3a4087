// The JSON value (writer and parser) and the command-line parser.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/json.hpp"
#include "support/catch.hpp"

namespace ex = pare_examples;

TEST_CASE("json writes keys in insertion order, numbers in shortest round-trip form") {
  ex::json r;
  r["b"] = 0.1;
  r["a"]["x"] = std::int64_t{3};
  r["a"]["nan"] = std::numeric_limits<double>::quiet_NaN();
  r["list"].push_back(ex::json::object({{"s", "q\"\\\n\x01"}, {"t", true}}));
  r["nums"] = ex::json::array(std::vector<double>{1.5, -2e-9, 1e300});
  r["empty"] = ex::json::array(std::vector<double>{});
  CHECK(r.dump() ==
        "{\n"
        "  \"b\": 0.1,\n"
        "  \"a\": {\n"
        "    \"x\": 3,\n"
        "    \"nan\": null\n"
        "  },\n"
        "  \"list\": [\n"
        "    {\n"
        "      \"s\": \"q\\\"\\\\\\n\\u0001\",\n"
        "      \"t\": true\n"
        "    }\n"
        "  ],\n"
        "  \"nums\": [1.5, -2e-09, 1e+300],\n"
        "  \"empty\": []\n"
        "}\n");
  CHECK(r.dump(0) ==
        "{\"b\": 0.1, \"a\": {\"x\": 3, \"nan\": null}, \"list\": [{\"s\": \"q\\\"\\\\\\n\\u0001\", "
        "\"t\": true}], \"nums\": [1.5, -2e-09, 1e+300], \"empty\": []}");
}

TEST_CASE("json parses what it writes, and standard JSON") {
  ex::json r;
  r["pi"] = 3.141592653589793;
  r["tiny"] = 5e-324;
  r["s"] = "é ✓ \t";
  r["l"].push_back(ex::json());
  r["l"].push_back(false);
  const ex::json back = ex::json::parse(r.dump());
  CHECK(back.dump() == r.dump());
  CHECK(back.find("pi")->as_number() == 3.141592653589793);
  CHECK(back.find("tiny")->as_number() == 5e-324);

  const ex::json j = ex::json::parse(R"( {"a": [1, -0.5e2, 2E+1, 0], "u": "\u00e9\ud83d\ude00\/", "n": null} )");
  const auto& a = j.find("a")->as_array();
  CHECK(a.size() == 4);
  CHECK(a[1].as_number() == -50);
  CHECK(a[2].as_number() == 20);
  CHECK(j.find("u")->as_string() == "\xC3\xA9\xF0\x9F\x98\x80/");
  CHECK(j.find("n")->is_null());
  CHECK(j.find("missing") == nullptr);
}

TEST_CASE("json rejects malformed text with the offset of the problem") {
  const auto fails = [](const std::string& text, const std::string& part) {
    INFO("text: " << text);
    try {
      (void)ex::json::parse(text);
      FAIL("no exception");
    } catch (const ex::json_error& e) {
      INFO("message: " << e.what());
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  fails("", "unexpected end");
  fails("[1, 2,]", "unexpected character ']' at byte 6");
  fails("{\"a\": 1,}", "expected a string key");
  fails("{\"a\" 1}", "expected ':'");
  fails("{\"a\": 1, \"a\": 2}", "duplicate key");
  fails("[01]", "expected ',' or ']'");
  fails("[1.]", "bad number");
  fails("-", "bad number");
  fails("\"abc", "unterminated string");
  fails("\"a\x01\"", "control character");
  fails("\"\\x\"", "bad escape");
  fails("\"\\ud800\"", "unpaired surrogate");
  fails("1e999", "out of range");
  fails("[1] 2", "unexpected text after the value");
  fails("nul", "unexpected character 'n'");
  fails(std::string(300, '['), "nesting deeper than 256");
  CHECK_THROWS_AS(ex::json(1.0).as_string(), ex::json_error);
  ex::json num(2.0);
  CHECK_THROWS_AS(num["key"], ex::json_error);
}

TEST_CASE("cli parses flags and typed options into the caller's variables") {
  bool quick = false, quiet = false;
  std::int64_t threads = 0;
  std::uint64_t seed = 1;
  std::string data = "/default";
  const auto make = [&] {
    ex::cli c("prog", "A program.");
    c.flag("quick", quick, "quick mode")
        .flag("quiet", quiet, "no output")
        .option("threads", threads, "N", "threads", 0, 64)
        .option("seed", seed, "N", "seed")
        .option("data", data, "DIR", "data directory");
    return c;
  };
  const char* argv[] = {"prog", "--quick", "--threads", "2", "--seed=18446744073709551615",
                        "--data", "/tmp/x"};
  CHECK(make().parse(7, argv));
  CHECK(quick);
  CHECK_FALSE(quiet);
  CHECK(threads == 2);
  CHECK(seed == 18446744073709551615ull);
  CHECK(data == "/tmp/x");
  const auto help = make().help();
  CHECK(help.find("--threads N") != std::string::npos);
  CHECK(help.find("A program.") != std::string::npos);

  const auto fails = [&](std::vector<const char*> args, const std::string& part) {
    args.insert(args.begin(), "prog");
    try {
      (void)make().parse(static_cast<int>(args.size()), args.data());
      FAIL("no exception");
    } catch (const ex::cli_error& e) {
      INFO("message: " << e.what());
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  fails({"--nope"}, "unknown option --nope");
  fails({"stray"}, "unexpected argument 'stray'");
  fails({"--threads"}, "--threads needs a value N");
  fails({"--threads", "x"}, "--threads must be an integer in [0, 64], got 'x'");
  fails({"--threads", "65"}, "got '65'");
  fails({"--threads=2.5"}, "got '2.5'");
  fails({"--seed", "-1"}, "--seed must be a non-negative integer, got '-1'");
  fails({"--quick=1"}, "--quick takes no value");
  fails({"--data="}, "--data must not be empty");
}
