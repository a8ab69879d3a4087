// save/load: the full state round-trips bit-identically, and every kind of bad stream (another
// optimizer, other shapes, truncated, corrupted) is a pare::error that leaves the optimizer as
// it was.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/numeric.hpp"

namespace po = pare::optim;
using pare::tensor_view;

namespace {

// Two parameters of different shapes with a simple parameter-dependent gradient.
template <class T>
struct problem {
  std::vector<T> w, b, gw, gb;
  explicit problem(std::uint64_t seed)
      : w(pare_test::random_normal<T>(12, seed)), b(pare_test::random_normal<T>(5, seed + 1)), gw(12), gb(5) {}
  tensor_view<T> wv() { return {w.data(), {3, 4}}; }
  tensor_view<T> bv() { return {b.data(), {5}}; }
  tensor_view<const T> gwv() const { return {gw.data(), {3, 4}}; }
  tensor_view<const T> gbv() const { return {gb.data(), {5}}; }
  void gradient(int t) {
    for (std::size_t i = 0; i < w.size(); ++i) gw[i] = T(0.7) * w[i] - T(0.1) + T(0.01) * T(t % 5);
    for (std::size_t i = 0; i < b.size(); ++i) gb[i] = T(1.3) * b[i] + T(0.2) - T(0.02) * T(t % 3);
  }
};

// A group on the second parameter with every field the optimizer has that is easy to vary.
template <class Opt>
typename Opt::group_type some_group() {
  typename Opt::group_type g{};
  g.lr = Opt().options().lr * 0.5;
  g.weight_decay = 0.01;
  return g;
}

template <class Opt>
void register_params(Opt& opt, problem<typename Opt::value_type>& p) {
  opt.add(p.wv(), p.gwv());
  opt.add(p.bv(), p.gbv(), some_group<Opt>());
}

}  // namespace

TEMPLATE_TEST_CASE("save, load and continue is bit-identical to never stopping, for all nine", "[optim][state]",
                   float, double) {
  using T = TestType;
  optim_test::for_each_kind<T>([]<class Opt>() {
    INFO(Opt().kind());
    problem<T> a(3), b(3);
    Opt one;
    register_params(one, a);
    one.set_schedule([lr = one.lr()](std::int64_t t) { return lr / (1.0 + 0.05 * static_cast<double>(t)); });
    for (int t = 0; t < 7; ++t) {
      a.gradient(t);
      one.step();
    }
    std::stringstream saved;
    one.save(saved);
    b.w = a.w;  // the model's weights are saved by the user, the optimizer's state by save()
    b.b = a.b;
    Opt two({.lr = 123.0});  // other options: load restores them
    register_params(two, b);
    two.load(saved);
    CHECK(two.steps() == 7);
    CHECK(two.lr() == one.lr());
    two.set_schedule([lr = Opt().lr()](std::int64_t t) { return lr / (1.0 + 0.05 * static_cast<double>(t)); });
    for (int t = 7; t < 15; ++t) {
      a.gradient(t);
      b.gradient(t);
      one.step();
      two.step();
    }
    CHECK(a.w == b.w);  // bitwise
    CHECK(a.b == b.b);
    std::stringstream s1, s2;
    one.save(s1);
    two.save(s2);
    CHECK(s1.str() == s2.str());
  });
}

TEST_CASE("a state for another optimizer, other shapes or another count is refused, and nothing changes") {
  problem<float> p(5), q(5);
  po::adam<float> adam({.lr = 0.01, .amsgrad = true});
  register_params(adam, p);
  p.gradient(0);
  adam.step();
  std::stringstream s;
  adam.save(s);
  const std::string bytes = s.str();

  auto unchanged = [](auto& opt, const std::string& before) {
    std::stringstream now;
    opt.save(now);
    CHECK(now.str() == before);
  };

  SECTION("another optimizer") {
    po::adamw<float> adamw;
    register_params(adamw, q);
    std::stringstream before;
    adamw.save(before);
    std::stringstream in(bytes);
    PARE_REQUIRE_ERROR(adamw.load(in), "pare::optim::adamw", "the state kind must be pare::optim::adamw<float>",
                       "\"pare::optim::adam<float>\"");
    unchanged(adamw, before.str());
  }
  SECTION("another scalar type") {
    problem<double> d(5);
    po::adam<double> adam_d;
    register_params(adam_d, d);
    std::stringstream in(bytes);
    PARE_REQUIRE_ERROR(adam_d.load(in), "pare::optim::adam", "kind", "pare::optim::adam<double>");
  }
  SECTION("other shapes") {
    po::adam<float> other;
    other.add(tensor_view<float>(q.w.data(), {4, 3}), tensor_view<const float>(q.gw.data(), {4, 3}));
    other.add(q.bv(), q.gbv());
    std::stringstream before;
    other.save(before);
    std::stringstream in(bytes);
    PARE_REQUIRE_ERROR(other.load(in), "pare::optim::adam", "parameter 0's shape in the state must be [4, 3], got [3, 4]");
    unchanged(other, before.str());
  }
  SECTION("another parameter count") {
    po::adam<float> other;
    other.add(q.wv(), q.gwv());
    std::stringstream in(bytes);
    PARE_REQUIRE_ERROR(other.load(in), "pare::optim::adam", "the state's parameter count must be 1", "got 2");
  }
  SECTION("not a state at all") {
    po::adam<float> other;
    register_params(other, q);
    std::stringstream in("this is not an optimizer state, it is a sentence");
    PARE_REQUIRE_ERROR(other.load(in), "pare::optim::adam", "magic", "PARESTAT", "\"this is \"");
  }
}

TEST_CASE("every truncation and every corrupted byte of a state is detected") {
  problem<float> p(9), q(9);
  po::rmsprop<float> opt({.momentum = 0.9, .centered = true});
  register_params(opt, p);
  for (int t = 0; t < 3; ++t) {
    p.gradient(t);
    opt.step();
  }
  std::stringstream s;
  opt.save(s);
  const std::string bytes = s.str();
  po::rmsprop<float> target;
  register_params(target, q);
  std::stringstream fresh;
  target.save(fresh);
  std::size_t errors = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {  // every proper prefix
    std::stringstream in(bytes.substr(0, n));
    try {
      target.load(in);
    } catch (const pare::error& e) {
      ++errors;
      const std::string what = e.what();
      CHECK(what.starts_with("pare::optim::rmsprop: "));
    }
  }
  CHECK(errors == bytes.size());
  errors = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {  // every byte, flipped
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    std::stringstream in(bad);
    try {
      target.load(in);
    } catch (const pare::error&) {
      ++errors;
    }
  }
  CHECK(errors == bytes.size());
  std::stringstream after;
  target.save(after);
  CHECK(after.str() == fresh.str());  // untouched through all of it
  std::stringstream good(bytes);
  target.load(good);
  CHECK(target.steps() == 3);
}

TEST_CASE("a chain saves its transforms' state and statuses; another chain's state is refused") {
  std::vector<double> w = {1, 2, 3}, g = {0.1, -0.2, 0.3}, w2 = w;
  auto make = [] {
    return po::chain<double>(po::skip_non_finite{}, po::clip_by_global_norm{.max_norm = 0.2},
                             po::as_chain(po::adam_options{.lr = 0.05, .amsgrad = true}));
  };
  auto a = make();
  a.add(w, g);
  a.step();
  g[0] = std::nan("");
  a.step();  // skipped
  g[0] = 0.1;
  a.step();
  std::stringstream s;
  a.save(s);
  auto b = make();
  b.add(w2, g);
  b.load(s);
  CHECK(b.steps() == 2);
  CHECK(b.status<po::skip_non_finite>().skipped == 1);
  CHECK(b.status<po::clip_by_global_norm>().norm == a.status<po::clip_by_global_norm>().norm);
  w2 = w;
  a.step();
  b.step();
  CHECK(w == w2);
  // Same transforms, other options that change the state's layout: refused.
  auto c = po::chain<double>(po::skip_non_finite{}, po::clip_by_global_norm{.max_norm = 0.2},
                             po::as_chain(po::adam_options{.lr = 0.05, .amsgrad = false}));
  c.add(w2, g);
  std::stringstream s2;
  a.save(s2);
  PARE_REQUIRE_ERROR(c.load(s2), "pare::optim::chain", "amsgrad");
  CHECK(c.steps() == 0);
  // A different chain: refused by kind.
  auto d = po::chain<double>(po::as_chain(po::adam_options{}));
  d.add(w2, g);
  std::stringstream s3;
  a.save(s3);
  PARE_REQUIRE_ERROR(d.load(s3), "pare::optim::chain", "the state kind must be pare::optim::chain<double>(pare::optim::scale");
}

TEST_CASE("the state format's checksum is XXH64") {
  // Published XXH64 values (seed 0) of "" and "abc".
  pare::detail::checksum64 empty;
  CHECK(empty.digest() == 0xEF46DB3751D8E999ull);
  pare::detail::checksum64 abc;
  abc.update("abc", 3);
  CHECK(abc.digest() == 0x44BC2CF5AD770999ull);
  // Streaming in pieces gives the same digest as one call.
  std::string text(1000, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i * 7 + 3);
  pare::detail::checksum64 whole, pieces;
  whole.update(text.data(), text.size());
  for (std::size_t i = 0; i < text.size(); i += 13) pieces.update(text.data() + i, std::min<std::size_t>(13, text.size() - i));
  CHECK(whole.digest() == pieces.digest());
}

TEST_CASE("state records: every header field and the payload's bounds are checked") {
  std::vector<float> w(3, 1.0f), g(3, 0.5f);
  po::sgd<float> opt({.momentum = 0.9});
  opt.add(w, g);
  opt.step();
  std::stringstream good;
  opt.save(good);
  const std::string bytes = good.str();
  auto load = [&](const std::string& record) {
    std::stringstream in(record);
    opt.load(in);
  };
  // Header fields (magic 8 bytes, version u32 at 8, byte-order mark u32 at 12).
  std::string bad = bytes;
  bad[8] = 7;
  PARE_REQUIRE_ERROR(load(bad), "pare::optim::sgd", "the state format version must be 1, got 7");
  bad = bytes;
  std::swap(bad[12], bad[15]);
  PARE_REQUIRE_ERROR(load(bad), "pare::optim::sgd", "the state byte order");
  // Records with a valid checksum but a payload that does not fit the optimizer.
  auto record = [&](auto&& payload) {
    std::stringstream s;
    pare::detail::write_state(s, "test", opt.kind(), payload);
    return s.str();
  };
  const std::string extra = record([&](pare::detail::state_writer& w) {
    std::stringstream inner;
    opt.save(inner);  // a whole record as payload: right kind, wrong contents
    w.bytes(inner.str().data(), inner.str().size());
  });
  PARE_REQUIRE_ERROR(load(extra), "pare::optim::sgd");
  const std::string short_payload = record([](pare::detail::state_writer& w) { w.value(std::uint32_t{1}); });
  PARE_REQUIRE_ERROR(load(short_payload), "pare::optim::sgd", "shorter than its contents");
  std::stringstream now;
  opt.save(now);
  CHECK(now.str() == bytes);
}

TEST_CASE("a generic chain refuses unread bytes and a negative step count") {
  std::vector<double> w(2, 1.0), g(2, 0.5);
  auto opt = po::chain<double>(po::scale_by_learning_rate{.lr = 0.1});
  opt.add(w, g);
  auto record = [&](auto&& payload) {
    std::stringstream s;
    pare::detail::write_state(s, "test", opt.kind(), payload);
    return s;
  };
  auto trailing = record([](pare::detail::state_writer& w) {
    w.value(std::uint64_t{1});
    w.value(std::int64_t{3});
    w.shape(std::vector<std::int64_t>{2});
    w.value(std::uint8_t{42});
  });
  PARE_REQUIRE_ERROR(opt.load(trailing), "pare::optim::chain", "1 unread bytes");
  auto negative = record([](pare::detail::state_writer& w) {
    w.value(std::uint64_t{1});
    w.value(std::int64_t{-3});
  });
  PARE_REQUIRE_ERROR(opt.load(negative), "pare::optim::chain", "the state's step count must be >= 0, got -3");
  auto fine = record([](pare::detail::state_writer& w) {
    w.value(std::uint64_t{1});
    w.value(std::int64_t{3});
    w.shape(std::vector<std::int64_t>{2});
  });
  opt.load(fine);
  CHECK(opt.steps() == 3);
}
