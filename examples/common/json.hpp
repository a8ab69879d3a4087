#pragma once
/// \file
/// A small JSON value with an order-preserving object, a writer and a strict parser, for the
/// examples' result files (no dependency beyond the standard library).
///
///     pare_examples::json r;
///     r["teacher"]["test_accuracy"] = 0.8971;
///     r["pruning"].push_back(pare_examples::json::object({{"sparsity", 0.9}}));
///     std::string text = r.dump();                  // keys in insertion order, 2-space indent
///     pare_examples::json back = pare_examples::json::parse(text);
///
/// Numbers print in their shortest round-trip form (`std::to_chars`), so the same results give
/// byte-identical files. JSON has no NaN or infinity: they are written as `null`.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pare_examples {

/// Thrown by `json::parse` for malformed text and by accessors used on the wrong kind of value.
class json_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A JSON value: null, boolean, number, string, array or object (keys kept in insertion order).
class json {
 public:
  using array_type = std::vector<json>;
  using object_type = std::vector<std::pair<std::string, json>>;

  json() = default;
  json(std::nullptr_t) {}                                          // NOLINT
  json(bool b) : v_(b) {}                                          // NOLINT
  json(double d) : v_(d) {}                                        // NOLINT
  json(float d) : v_(static_cast<double>(d)) {}                    // NOLINT
  json(int i) : v_(static_cast<double>(i)) {}                      // NOLINT
  json(std::int64_t i) : v_(static_cast<double>(i)) {}             // NOLINT
  json(std::uint64_t i) : v_(static_cast<double>(i)) {}            // NOLINT
  json(const char* s) : v_(std::string(s)) {}                      // NOLINT
  json(std::string s) : v_(std::move(s)) {}                        // NOLINT
  json(std::string_view s) : v_(std::string(s)) {}                 // NOLINT
  json(array_type a) : v_(std::move(a)) {}                         // NOLINT
  /// An object from key/value pairs, in the given order.
  static json object(std::initializer_list<std::pair<std::string, json>> members = {}) {
    json j;
    j.v_ = object_type(members.begin(), members.end());
    return j;
  }
  /// An array of numbers.
  template <class T>
  static json array(const std::vector<T>& values) {
    array_type a;
    a.reserve(values.size());
    for (const auto& v : values) a.emplace_back(v);
    return json(std::move(a));
  }

  [[nodiscard]] bool is_null() const noexcept { return v_.index() == 0; }
  [[nodiscard]] bool is_bool() const noexcept { return v_.index() == 1; }
  [[nodiscard]] bool is_number() const noexcept { return v_.index() == 2; }
  [[nodiscard]] bool is_string() const noexcept { return v_.index() == 3; }
  [[nodiscard]] bool is_array() const noexcept { return v_.index() == 4; }
  [[nodiscard]] bool is_object() const noexcept { return v_.index() == 5; }

  [[nodiscard]] bool as_bool() const { return get<bool>("a boolean"); }
  [[nodiscard]] double as_number() const { return get<double>("a number"); }
  [[nodiscard]] const std::string& as_string() const { return get<std::string>("a string"); }
  [[nodiscard]] const array_type& as_array() const { return get<array_type>("an array"); }
  [[nodiscard]] const object_type& as_object() const { return get<object_type>("an object"); }

  /// The member `key`, inserted (as null) if missing; a null value becomes an object first.
  json& operator[](std::string_view key) {
    if (is_null()) v_ = object_type{};
    auto& o = must_be<object_type>("an object");
    for (auto& [k, v] : o)
      if (k == key) return v;
    o.emplace_back(std::string(key), json());
    return o.back().second;
  }
  /// The member `key`, or nullptr.
  [[nodiscard]] const json* find(std::string_view key) const {
    if (!is_object()) return nullptr;
    for (const auto& [k, v] : std::get<object_type>(v_))
      if (k == key) return &v;
    return nullptr;
  }
  /// Appends to an array; a null value becomes an array first.
  void push_back(json v) {
    if (is_null()) v_ = array_type{};
    must_be<array_type>("an array").push_back(std::move(v));
  }

  /// The value as JSON text: `indent` spaces per level (0 = one line).
  [[nodiscard]] std::string dump(int indent = 2) const {
    std::string out;
    write(out, indent, 0);
    if (indent > 0) out += '\n';
    return out;
  }

  /// Parses JSON text (RFC 8259; one value, whitespace around it). Throws `json_error` with the
  /// byte offset of the first problem.
  static json parse(std::string_view text) {
    parser p{text};
    json v = p.value(0);
    p.skip_ws();
    if (p.pos != text.size()) p.fail("unexpected text after the value");
    return v;
  }

 private:
  template <class U>
  const U& get(const char* what) const {
    if (const U* p = std::get_if<U>(&v_)) return *p;
    throw json_error(std::string("json: value is not ") + what);
  }
  template <class U>
  U& must_be(const char* what) {
    if (U* p = std::get_if<U>(&v_)) return *p;
    throw json_error(std::string("json: value is not ") + what);
  }

  /// The two-character escapes of RFC 8259 (besides \uXXXX): character and escape letter.
  static constexpr std::pair<char, char> escapes[] = {
      {'"', '"'}, {'\\', '\\'}, {'\n', 'n'}, {'\r', 'r'}, {'\t', 't'}, {'\b', 'b'}, {'\f', 'f'}};
  static constexpr char escape_letter(char c) noexcept {
    for (const auto& [ch, letter] : escapes)
      if (ch == c) return letter;
    return 0;
  }
  static constexpr char unescape(char letter) noexcept {
    if (letter == '/') return '/';
    for (const auto& [ch, l] : escapes)
      if (l == letter) return ch;
    return 0;
  }

  static void write_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (const char e = escape_letter(ch)) {
        out += '\\';
        out += e;
      } else if (c < 0x20) {
        constexpr char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += ch;  // UTF-8 passes through unchanged
      }
    }
    out += '"';
  }

  void write(std::string& out, int indent, int depth) const {
    const auto newline = [&](int d) {
      if (indent <= 0) return;
      out += '\n';
      out.append(static_cast<std::size_t>(indent * d), ' ');
    };
    switch (v_.index()) {
      case 0: out += "null"; break;
      case 1: out += std::get<bool>(v_) ? "true" : "false"; break;
      case 2: {
        const double d = std::get<double>(v_);
        if (!std::isfinite(d)) {
          out += "null";
          break;
        }
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, d);
        out.append(buf, r.ptr);
        break;
      }
      case 3: write_string(out, std::get<std::string>(v_)); break;
      case 4: {
        const auto& a = std::get<array_type>(v_);
        // Arrays of numbers stay on one line: loss curves would otherwise take thousands.
        bool flat = true;
        for (const auto& e : a) flat = flat && (e.is_number() || e.is_null());
        out += '[';
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (i) out += flat || indent <= 0 ? ", " : ",";
          if (!flat) newline(depth + 1);
          a[i].write(out, indent, depth + 1);
        }
        if (!flat && !a.empty()) newline(depth);
        out += ']';
        break;
      }
      default: {
        const auto& o = std::get<object_type>(v_);
        out += '{';
        for (std::size_t i = 0; i < o.size(); ++i) {
          if (i) out += indent <= 0 ? ", " : ",";
          newline(depth + 1);
          write_string(out, o[i].first);
          out += ": ";
          o[i].second.write(out, indent, depth + 1);
        }
        if (!o.empty()) newline(depth);
        out += '}';
      }
    }
  }

  struct parser {
    std::string_view s;
    std::size_t pos = 0;

    [[noreturn]] void fail(const std::string& what) const {
      throw json_error("json: " + what + " at byte " + std::to_string(pos));
    }
    void skip_ws() {
      while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
        ++pos;
    }
    bool consume(std::string_view word) {
      if (s.substr(pos, word.size()) != word) return false;
      pos += word.size();
      return true;
    }
    json value(int depth) {
      if (depth > 256) fail("nesting deeper than 256");
      skip_ws();
      if (pos >= s.size()) fail("unexpected end of text");
      const char c = s[pos];
      if (c == '{') return object(depth);
      if (c == '[') return array(depth);
      if (c == '"') return json(string());
      if (consume("true")) return json(true);
      if (consume("false")) return json(false);
      if (consume("null")) return json();
      if (c == '-' || (c >= '0' && c <= '9')) return number();
      fail(std::string("unexpected character '") + c + "'");
    }
    /// True (and consumed) when the next character closes an empty container.
    bool closes(char close) {
      skip_ws();
      if (pos >= s.size() || s[pos] != close) return false;
      ++pos;
      return true;
    }
    /// After an element: true for ',' (another follows), false for `close`; anything else fails.
    bool another(char close) {
      skip_ws();
      if (pos >= s.size() || (s[pos] != ',' && s[pos] != close))
        fail(std::string("expected ',' or '") + close + "'");
      return s[pos++] == ',';
    }
    json object(int depth) {
      ++pos;
      json o = json::object();
      if (closes('}')) return o;
      do {
        skip_ws();
        if (pos >= s.size() || s[pos] != '"') fail("expected a string key");
        std::string key = string();
        if (o.find(key)) fail("duplicate key \"" + key + "\"");
        skip_ws();
        if (pos >= s.size() || s[pos] != ':') fail("expected ':'");
        ++pos;
        o[key] = value(depth + 1);
      } while (another('}'));
      return o;
    }
    json array(int depth) {
      ++pos;
      json a(array_type{});
      if (closes(']')) return a;
      do a.push_back(value(depth + 1));
      while (another(']'));
      return a;
    }
    static void append_utf8(std::string& out, std::uint32_t cp) {
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    std::uint32_t hex4() {
      if (pos + 4 > s.size()) fail("truncated \\u escape");
      std::uint32_t v = 0;
      const auto r = std::from_chars(s.data() + pos, s.data() + pos + 4, v, 16);
      if (r.ptr != s.data() + pos + 4) fail("bad \\u escape");
      pos += 4;
      return v;
    }
    std::string string() {
      ++pos;  // the opening quote
      std::string out;
      for (;;) {
        if (pos >= s.size()) fail("unterminated string");
        const char c = s[pos++];
        if (c == '"') return out;
        if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
        if (c != '\\') {
          out += c;
          continue;
        }
        if (pos >= s.size()) fail("unterminated string");
        const char letter = s[pos++];
        if (const char ch = unescape(letter)) {
          out += ch;
          continue;
        }
        if (letter != 'u') {
          --pos;
          fail("bad escape");
        }
        std::uint32_t cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
          if (!consume("\\u")) fail("unpaired surrogate");
          const std::uint32_t lo = hex4();
          if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          fail("unpaired surrogate");
        }
        append_utf8(out, cp);
      }
    }
    json number() {
      const std::size_t start = pos;
      // RFC 8259's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
      const auto digits = [&] {
        const std::size_t b = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        return pos - b;
      };
      if (s[pos] == '-') ++pos;
      if (pos < s.size() && s[pos] == '0')
        ++pos;
      else if (digits() == 0)
        fail("bad number");
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        if (digits() == 0) fail("bad number");
      }
      if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
        if (digits() == 0) fail("bad number");
      }
      double d = 0;
      const auto r = std::from_chars(s.data() + start, s.data() + pos, d);
      if (r.ec != std::errc()) {
        pos = start;
        fail("number out of range");
      }
      return json(d);
    }
  };

  std::variant<std::nullptr_t, bool, double, std::string, array_type, object_type> v_;
};

}  // namespace pare_examples
