// The HTTP/1.1 request parser of the event server: framing, limits, and
// that feeding a request byte by byte gives what feeding it at once gives.
#include "gateway/adapters/http1_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace rentmesh::gateway {
namespace {

using State = Http1Parser::State;

Http1Parser::Limits Small() { return {1024, 4096}; }

// Parses `wire` fed in pieces of `step` bytes (0: at once).
struct Outcome {
  State state = State::kNeedMore;
  HttpRequest request;
  size_t consumed = 0;
  int error = 0;
  bool keep_alive = true;
};
Outcome Feed(const std::string& wire, size_t step = 0, Http1Parser::Limits limits = Small()) {
  Http1Parser p(limits);
  Outcome out;
  std::string in;
  size_t at = 0;
  do {
    const size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
    in.append(wire, at, n);
    at += n;
    out.state = p.Parse(in);
  } while (out.state == State::kNeedMore && at < wire.size());
  if (out.state == State::kComplete) {
    out.request = p.request();
    out.consumed = p.consumed();
    out.keep_alive = p.keep_alive();
  }
  out.error = p.error_status();
  return out;
}

TEST(Http1ParserTest, ParsesARequestWithALengthAndLowerCasesHeaderNames) {
  const std::string wire =
      "POST /v1/books?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\nX-Request-Id:  abc \r\n\r\n{\"a\":\"bcd\"}GET /next";
  Outcome o = Feed(wire);
  ASSERT_EQ(o.state, State::kComplete);
  EXPECT_EQ(o.request.method, "POST");
  EXPECT_EQ(o.request.target, "/v1/books?x=1");
  EXPECT_EQ(o.request.body, "{\"a\":\"bcd\"}");
  ASSERT_NE(o.request.Header("x-request-id"), nullptr);
  EXPECT_EQ(*o.request.Header("x-request-id"), "abc");
  EXPECT_EQ(o.consumed, wire.size() - std::string("GET /next").size());
  EXPECT_TRUE(o.keep_alive);
}

TEST(Http1ParserTest, ByteByByteEqualsAllAtOnce) {
  const std::string requests[] = {
      "GET / HTTP/1.1\r\n\r\n",
      "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
      "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n"
      "6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
      "\r\n\r\nGET /after-empty-lines HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  };
  for (const std::string& wire : requests) {
    Outcome whole = Feed(wire);
    Outcome bytes = Feed(wire, 1);
    Outcome sevens = Feed(wire, 7);
    ASSERT_EQ(whole.state, State::kComplete) << wire;
    for (const Outcome* o : {&bytes, &sevens}) {
      ASSERT_EQ(o->state, State::kComplete) << wire;
      EXPECT_EQ(o->request.method, whole.request.method);
      EXPECT_EQ(o->request.target, whole.request.target);
      EXPECT_EQ(o->request.body, whole.request.body);
      EXPECT_EQ(o->consumed, whole.consumed);
    }
  }
  EXPECT_EQ(Feed(requests[2]).request.body, "hello world");
  EXPECT_TRUE(Feed(requests[3]).keep_alive);
}

TEST(Http1ParserTest, ConnectionSemanticsFollowTheVersion) {
  EXPECT_FALSE(Feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(Feed("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(Feed("GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

TEST(Http1ParserTest, WhatCannotBeFramedSafelyIsAnErrorWithItsStatus) {
  struct Case {
    std::string wire;
    int status;
  } cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / FTP/1.1\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\n\r\n", 400},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26), 400},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFF\r\n", 413},
      {"GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417},
      {"GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nX: " + std::string(2000, 'a'), 431},  // no end of head yet
  };
  for (const Case& c : cases) {
    Outcome o = Feed(c.wire);
    EXPECT_EQ(o.state, State::kError) << c.wire;
    EXPECT_EQ(o.error, c.status) << c.wire;
  }
}

TEST(Http1ParserTest, ExpectContinueIsAskedOnlyWhileABodyIsAwaited) {
  Http1Parser p(Small());
  std::string in = "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
  EXPECT_EQ(p.Parse(in), State::kNeedMore);
  EXPECT_TRUE(p.wants_continue());
  p.clear_wants_continue();
  in += "abc";
  EXPECT_EQ(p.Parse(in), State::kComplete);
  EXPECT_FALSE(p.wants_continue());
  Http1Parser q(Small());
  EXPECT_EQ(q.Parse("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"), State::kComplete);
  EXPECT_FALSE(q.wants_continue());
}

TEST(Http1ParserTest, ResetParsesTheNextPipelinedRequest) {
  Http1Parser p(Small());
  std::string in = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  ASSERT_EQ(p.Parse(in), State::kComplete);
  EXPECT_EQ(p.request().target, "/a");
  in.erase(0, p.consumed());
  p.Reset();
  ASSERT_EQ(p.Parse(in), State::kComplete);
  EXPECT_EQ(p.request().target, "/b");
  EXPECT_EQ(p.consumed(), in.size());
}

// Random and mutated input, fed in random pieces: the parser never reads
// past its input, never completes with more consumed than it was given, and
// ends in the same state however the bytes were split.
TEST(Http1ParserTest, RandomInputNeverBreaksTheParser) {
  std::mt19937 rng(20261203);
  const std::string seeds[] = {
      "POST /v1/books HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
      "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
      "GET /v1/books/dune?consistency_token=RENTAL:1 HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  const char alphabet[] = "\r\n :;0123456789abcdefABCDEF\t\x00\x7f\xff/?GETPOST-HTTP1.";
  int completed = 0, errors = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string wire = seeds[static_cast<size_t>(i) % 3];
    const int edits = static_cast<int>(rng() % 6);
    for (int e = 0; e < edits && !wire.empty(); ++e) {
      const size_t at = rng() % wire.size();
      const char c = alphabet[rng() % (sizeof(alphabet) - 1)];
      switch (rng() % 3) {
        case 0:
          wire[at] = c;
          break;
        case 1:
          wire.insert(wire.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          wire.erase(at, 1);
          break;
      }
    }
    const Outcome whole = Feed(wire);
    const Outcome pieces = Feed(wire, 1 + rng() % 9);
    ASSERT_EQ(whole.state, pieces.state) << wire;
    if (whole.state == State::kComplete) {
      ++completed;
      ASSERT_LE(whole.consumed, wire.size());
      ASSERT_EQ(whole.consumed, pieces.consumed) << wire;
      ASSERT_EQ(whole.request.body, pieces.request.body) << wire;
    } else if (whole.state == State::kError) {
      ++errors;
      ASSERT_EQ(whole.error, pieces.error) << wire;
    }
  }
  // Both outcomes occur: the mutations exercise the error paths and the
  // unmutated seeds the complete ones.
  EXPECT_GT(completed, 1000);
  EXPECT_GT(errors, 1000);
}

TEST(Http1ParserTest, SerializesResponsesWithTheirFraming) {
  HttpResponse r;
  r.status = 404;
  r.body = "{}";
  r.headers.emplace_back("X-Request-Id", "r1");
  EXPECT_EQ(SerializeResponse(r, true, false, false),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "X-Request-Id: r1\r\n\r\n{}");
  EXPECT_EQ(SerializeResponse(r, false, true, false),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "X-Request-Id: r1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(Chunk("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(Chunk(""), "0\r\n\r\n");
}

}  // namespace
}  // namespace rentmesh::gateway
