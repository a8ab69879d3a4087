#pragma once
/// \file
/// Binary state records: how stateful pare components (optimizers first) save and load their
/// state so that training can stop and resume bit-identically.
///
/// A record is
///
///     magic "PARESTAT" | u32 format version | u32 byte-order mark 0x01020304
///     | u32 kind length | kind (e.g. "pare::optim::adam<float>") | u64 payload length
///     | payload | u64 checksum (XXH64, seed 0, of every byte before it)
///
/// Numbers are stored in the machine's byte order (the mark rejects a record from a machine of
/// the other order). The reader takes the whole record in, checks magic, version, byte order,
/// length and checksum, and only then hands the payload out, so a component can parse into
/// temporaries and commit only when everything matched: a truncated, corrupted or foreign
/// record is a `pare::error` and never a half-loaded state.
///
/// Writers produce the payload with a callback that is run twice: once to count its bytes (so
/// the length precedes the payload and nothing is buffered), once to write it.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "pare/core/error.hpp"

namespace pare::detail {

/// First bytes of every pare state record.
inline constexpr std::string_view state_magic = "PARESTAT";
/// Version of the record layout (not of the components' payloads, which their kind names).
inline constexpr std::uint32_t state_format_version = 1;
inline constexpr std::uint32_t state_byte_order_mark = 0x01020304u;

/// Streaming XXH64 (Collet, 2014; seed 0): a fast 64-bit checksum that catches corruption of
/// state records. Not cryptographic.
class checksum64 {
 public:
  void update(const void* data, std::size_t n) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    total_ += n;
    if (fill_ + n < 32) {
      std::memcpy(buf_ + fill_, p, n);
      fill_ += n;
      return;
    }
    if (fill_ != 0) {
      const std::size_t take = 32 - fill_;
      std::memcpy(buf_ + fill_, p, take);
      stripe(buf_);
      p += take;
      n -= take;
      fill_ = 0;
    }
    for (; n >= 32; n -= 32, p += 32) stripe(p);
    std::memcpy(buf_, p, n);
    fill_ = n;
  }

  [[nodiscard]] std::uint64_t digest() const noexcept {
    std::uint64_t h;
    if (total_ >= 32) {
      h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
      for (std::uint64_t v : v_) {
        h ^= round(0, v);
        h = h * p1 + p4;
      }
    } else {
      h = p5;
    }
    h += total_;
    const unsigned char* p = buf_;
    std::size_t n = fill_;
    for (; n >= 8; n -= 8, p += 8) {
      h ^= round(0, load<std::uint64_t>(p));
      h = std::rotl(h, 27) * p1 + p4;
    }
    if (n >= 4) {
      h ^= std::uint64_t{load<std::uint32_t>(p)} * p1;
      h = std::rotl(h, 23) * p2 + p3;
      p += 4;
      n -= 4;
    }
    for (; n > 0; --n, ++p) {
      h ^= std::uint64_t{*p} * p5;
      h = std::rotl(h, 11) * p1;
    }
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p3;
    h ^= h >> 32;
    return h;
  }

 private:
  static constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ull, p2 = 0xC2B2AE3D27D4EB4Full,
                                 p3 = 0x165667B19E3779F9ull, p4 = 0x85EBCA77C2B2AE63ull,
                                 p5 = 0x27D4EB2F165667C5ull;
  template <class U>
  static U load(const unsigned char* p) noexcept {
    U v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    return v;
  }
  template <class U>
  static U byteswap(U v) noexcept {
    U r = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) r = (r << 8) | ((v >> (8 * i)) & 0xFF);
    return r;
  }
  static std::uint64_t round(std::uint64_t acc, std::uint64_t in) noexcept {
    acc += in * p2;
    return std::rotl(acc, 31) * p1;
  }
  void stripe(const unsigned char* p) noexcept {
    for (int i = 0; i < 4; ++i) v_[i] = round(v_[i], load<std::uint64_t>(p + 8 * i));
  }

  std::uint64_t v_[4] = {p1 + p2, p2, 0, 0 - p1};
  unsigned char buf_[32] = {};
  std::size_t fill_ = 0;
  std::uint64_t total_ = 0;
};

/// Values a record can hold directly: arithmetic types and bool, in native representation.
template <class V>
concept state_scalar = std::is_arithmetic_v<V>;

/// Writes (or, without a stream, only counts) the bytes of a record, keeping its checksum.
class state_writer {
 public:
  /// `out == nullptr` counts bytes without writing them.
  explicit state_writer(std::ostream* out) noexcept : out_(out) {}

  void bytes(const void* data, std::size_t n) {
    bytes_ += n;
    if (out_ == nullptr || n == 0) return;
    sum_.update(data, n);
    out_->write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  }
  template <state_scalar V>
  void value(V v) {
    if constexpr (std::is_same_v<V, bool>)
      value(static_cast<std::uint8_t>(v));
    else
      bytes(&v, sizeof v);
  }
  /// `n` values from `data`.
  template <state_scalar V>
  void values(const V* data, std::int64_t n) {
    bytes(data, static_cast<std::size_t>(n) * sizeof(V));
  }
  /// A length-prefixed string.
  void text(std::string_view s) {
    value(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  /// A rank-prefixed shape.
  void shape(std::span<const std::int64_t> extents) {
    value(static_cast<std::uint32_t>(extents.size()));
    values(extents.data(), static_cast<std::int64_t>(extents.size()));
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes_; }
  [[nodiscard]] std::uint64_t checksum() const noexcept { return sum_.digest(); }

 private:
  std::ostream* out_;
  checksum64 sum_;
  std::uint64_t bytes_ = 0;
};

/// Writes one record: header, the payload written by `payload(state_writer&)` (called twice:
/// to count, then to write; it must write the same bytes both times) and the checksum.
/// Throws `pare::error` naming `component` when the stream fails.
template <class F>
void write_state(std::ostream& out, std::string_view component, std::string_view kind,
                 F&& payload) {
  state_writer counter(nullptr);
  payload(counter);
  state_writer w(&out);
  w.bytes(state_magic.data(), state_magic.size());
  w.value(state_format_version);
  w.value(state_byte_order_mark);
  w.text(kind);
  w.value(static_cast<std::uint64_t>(counter.size()));
  const std::uint64_t start = w.size();
  payload(w);
  if (w.size() - start != counter.size())
    fail(component, "internal error: the state payload changed size between passes");
  const std::uint64_t sum = w.checksum();
  out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
  if (!out) fail(component, "the output stream failed while saving the state");
}

/// Reads one record whole, checks it, and hands its payload out value by value.
///
/// The constructor throws `pare::error` (naming `component`) for a stream that is not a pare
/// state record, a truncated or corrupted one, another format version or byte order, or a kind
/// other than `kind`. The accessors throw when the payload is shorter than what is asked.
class state_reader {
 public:
  state_reader(std::istream& in, std::string_view component, std::string_view kind)
      : component_(component) {
    checksum64 sum;
    auto take = [&](void* dst, std::size_t n, std::string_view what) {
      in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
      if (static_cast<std::size_t>(in.gcount()) != n)
        fail(component_, "the state stream ended early (truncated) while reading its " +
                             std::string(what));
      sum.update(dst, n);
    };
    char magic[8] = {};
    take(magic, sizeof magic, "magic");
    if (std::string_view(magic, sizeof magic) != state_magic)
      fail_value(component_, "the state stream's magic", "\"PARESTAT\" (a pare state record)",
                 printable(std::string_view(magic, sizeof magic)));
    std::uint32_t version = 0, mark = 0, kind_size = 0;
    take(&version, sizeof version, "format version");
    require(version == state_format_version, component_, "the state format version",
            std::to_string(state_format_version), version);
    take(&mark, sizeof mark, "byte-order mark");
    require(mark == state_byte_order_mark, component_, "the state byte order",
            "this machine's (mark 0x01020304)", mark);
    take(&kind_size, sizeof kind_size, "kind");
    require(kind_size <= 4096, component_, "the state kind length", "at most 4096 (corrupt?)",
            kind_size);
    std::string got_kind(kind_size, '\0');
    take(got_kind.data(), kind_size, "kind");
    std::uint64_t length = 0;
    take(&length, sizeof length, "payload length");
    // Read in pieces so that a corrupt length cannot make us allocate the impossible.
    constexpr std::uint64_t piece = std::uint64_t{1} << 20;
    while (payload_.size() < length) {
      const std::size_t n = static_cast<std::size_t>(std::min(piece, length - payload_.size()));
      const std::size_t old = payload_.size();
      payload_.resize(old + n);
      in.read(payload_.data() + old, static_cast<std::streamsize>(n));
      const auto got = static_cast<std::size_t>(in.gcount());
      if (got != n)
        fail(component_, "the state stream ended early (truncated): its payload has " +
                             to_text(static_cast<std::uint64_t>(old + got)) + " of " +
                             to_text(length) + " bytes");
      sum.update(payload_.data() + old, n);
    }
    std::uint64_t stored = 0;
    in.read(reinterpret_cast<char*>(&stored), sizeof stored);
    if (static_cast<std::size_t>(in.gcount()) != sizeof stored)
      fail(component_, "the state stream ended early (truncated) before its checksum");
    if (stored != sum.digest())
      fail(component_, "the state checksum must match the record (corrupted stream), got " +
                           hex(stored) + " for contents that hash to " + hex(sum.digest()));
    if (got_kind != kind)
      fail_value(component_, "the state kind", std::string(kind), printable(got_kind));
  }

  template <state_scalar V>
  [[nodiscard]] V value() {
    if constexpr (std::is_same_v<V, bool>) {
      return value<std::uint8_t>() != 0;  // any byte is a valid read; never a bad bool
    } else {
      V v;
      take(&v, sizeof v);
      return v;
    }
  }
  template <state_scalar V>
  void values(V* data, std::int64_t n) {
    take(data, static_cast<std::size_t>(n) * sizeof(V));
  }
  [[nodiscard]] std::string text() {
    const auto n = value<std::uint32_t>();
    std::string s(std::min<std::size_t>(n, remaining()), '\0');
    take(s.data(), n);
    return s;
  }
  /// Reads a shape and requires it to equal `expected`; `what` names it in the error.
  void expect_shape(std::span<const std::int64_t> expected, std::string_view what) {
    const auto rank = value<std::uint32_t>();
    require(rank <= 8, component_, std::string(what) + " rank", "at most 8", rank);
    std::int64_t e[8] = {};
    values(e, rank);
    const std::span<const std::int64_t> got(e, rank);
    if (!std::ranges::equal(got, expected))
      fail_value(component_, what, to_text(expected), to_text(got));
  }
  /// Requires that the whole payload was read.
  void finish() const {
    if (pos_ != payload_.size())
      fail(component_, "the state payload has " + to_text(payload_.size() - pos_) +
                           " unread bytes (written by another version?)");
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return payload_.size() - pos_; }
  [[nodiscard]] std::string_view component() const noexcept { return component_; }

 private:
  void take(void* dst, std::size_t n) {
    if (n > remaining())
      fail(component_, "the state payload is shorter than its contents (corrupted stream)");
    if (n != 0) std::memcpy(dst, payload_.data() + pos_, n);
    pos_ += n;
  }
  static std::string hex(std::uint64_t v) {
    char buf[19] = "0x";
    for (int i = 0; i < 16; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
    return std::string(buf, 18);
  }
  static std::string printable(std::string_view s) {
    std::string r = "\"";
    for (char c : s) r += (c >= 32 && c < 127) ? c : '?';
    return r + "\"";
  }

  std::string component_;
  std::string payload_;
  std::size_t pos_ = 0;
};

}  // namespace pare::detail
