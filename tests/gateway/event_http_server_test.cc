// The event-loop HTTP server on real sockets, in front of the real handler,
// the real generic gRPC client and in-process gRPC fakes of the services:
// many connections without a thread each, pipelining, hostile framing,
// slow clients, half-closed clients, and slow backends that block no loop.
#include "gateway/adapters/event_http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/adapters/grpc_backend_caller.h"
#include "gateway/core/gateway_handler.h"
#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/view/v1/view.pb.h"
#include "testing/fake_services.h"
#include "testing/test_keys.h"

namespace rentmesh::gateway {
namespace {

// A raw client connection: what a hostile or slow client can do.
class Socket {
 public:
  explicit Socket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }
  // Reads until `responses` full responses arrived (by Content-Length), the
  // peer closed, or `timeout`.
  std::string Read(int responses, absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time end = absl::Now() + timeout;
    while (Complete() < responses && !closed_) {
      const int64_t left = absl::ToInt64Milliseconds(end - absl::Now());
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[8192];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      data_.append(buf, static_cast<size_t>(n));
    }
    return data_;
  }
  // Whether the server closed the connection within `timeout`.
  bool ClosedWithin(absl::Duration timeout) {
    Read(1 << 20, timeout);
    return closed_;
  }
  int Complete() const {
    int count = 0;
    size_t at = 0;
    for (;;) {
      const size_t head = data_.find("\r\n\r\n", at);
      if (head == std::string::npos) return count;
      size_t length = 0;
      const size_t cl = data_.find("Content-Length: ", at);
      if (cl != std::string::npos && cl < head) length = std::stoul(data_.substr(cl + 16));
      if (data_.size() < head + 4 + length) return count;
      ++count;
      at = head + 4 + length;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string data_;
};

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class EventHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backends_ = testing::FakeBackends::Start();
    auto table = RouteTable::FromServices(
        {rentmesh::rental::v1::Book::descriptor()->file()->service(0),
         rentmesh::payment::v1::Payment::descriptor()->file()->service(0),
         rentmesh::returns::v1::Return::descriptor()->file()->service(0),
         rentmesh::view::v1::RentalSummary::descriptor()->file()->service(0)});
    ASSERT_TRUE(table.ok());
    routes_ = std::make_unique<RouteTable>(*std::move(table));
    auto caller = GrpcBackendCaller::Create(backends_->Addresses());
    ASSERT_TRUE(caller.ok());
    caller_ = *std::move(caller);
    GatewayOptions options;
    options.rate_limit.per_second = 0;
    static const testing::KeyPair* keys = new testing::KeyPair(testing::GenerateRsaKeyPair());
    JwtVerifierConfig jwt;
    jwt.public_key_pem = keys->public_pem;
    jwt.issuer = "rentmesh-dev";
    jwt.audience = "rentmesh";
    librarian_ = absl::StrCat(
        "Authorization: Bearer ",
        testing::MintToken("RS256", keys->private_pem,
                           R"({"iss":"rentmesh-dev","aud":"rentmesh","exp":4102444800,)"
                           R"("sub":"lib-1","roles":["librarian"]})"),
        "\r\n");
    kGetBooks = absl::StrCat("GET /v1/books HTTP/1.1\r\nHost: t\r\n", librarian_, "\r\n");
    handler_ =
        std::make_unique<GatewayHandler>(options, *routes_, *caller_, *JwtVerifier::Create(jwt));
    EventHttpServer::Options http;
    http.port = 0;
    http.loops = 2;
    http.blocking_threads = 4;
    http.max_head_bytes = 8192;
    http.max_body_bytes = 64 * 1024;
    http.idle_timeout = absl::Seconds(1);
    http.read_timeout = absl::Seconds(1);
    http.write_timeout = absl::Seconds(1);
    auto server = EventHttpServer::Start(http, *handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    handler_.reset();
    caller_.reset();
    backends_.reset();
  }
  int port() const { return server_->port(); }

  std::unique_ptr<testing::FakeBackends> backends_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<GrpcBackendCaller> caller_;
  std::unique_ptr<GatewayHandler> handler_;
  std::unique_ptr<EventHttpServer> server_;
  // "Authorization: Bearer <a librarian's JWT>\r\n"
  std::string librarian_;
  // GET /v1/books as the librarian.
  std::string kGetBooks;
};

TEST_F(EventHttpServerTest, ThousandsOfOpenConnectionsAreServedByTwoLoops) {
  // More connections than the threaded engine had threads, all open at once,
  // each answered, then answered again on the same connection.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  const int wanted = 2000;
  if (lim.rlim_cur < static_cast<rlim_t>(wanted * 2 + 200)) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, wanted * 2 + 200);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  const int n = std::min<int>(wanted, static_cast<int>(lim.rlim_cur / 2) - 100);
  ASSERT_GE(n, 500) << "too few file descriptors for the test";
  std::vector<std::unique_ptr<Socket>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<Socket>(port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (auto& c : clients) ASSERT_TRUE(c->Send(kGetBooks));
  int answered = 0;
  for (auto& c : clients) answered += Count(c->Read(1), "HTTP/1.1 200 OK") == 1 ? 1 : 0;
  EXPECT_EQ(answered, n);
  EXPECT_EQ(server_->connections(), n);
  for (auto& c : clients) ASSERT_TRUE(c->Send(kGetBooks));
  answered = 0;
  for (auto& c : clients) answered += Count(c->Read(2), "HTTP/1.1 200 OK") == 2 ? 1 : 0;
  EXPECT_EQ(answered, n);
}

TEST_F(EventHttpServerTest, PipelinedRequestsAreAnsweredInOrderThenTheConnectionCloses) {
  Socket s(port());
  ASSERT_TRUE(
      s.Send(absl::StrCat("GET /v1/books/status-5 HTTP/1.1\r\n", librarian_, "\r\n", kGetBooks,
                          "GET /openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n")));
  const std::string out = s.Read(3);
  const size_t a = out.find("HTTP/1.1 404");
  const size_t b = out.find("HTTP/1.1 200", a);
  const size_t c = out.find("HTTP/1.1 200", b + 1);
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_TRUE(absl::StrContains(out.substr(c), "Connection: close"));
  EXPECT_TRUE(s.ClosedWithin(absl::Seconds(3)));
}

TEST_F(EventHttpServerTest, ASlowBackendBlocksNoOtherConnection) {
  // Two loops, and more slow calls than loops: the quick answer still comes
  // at once, because a backend call holds no loop.
  std::vector<std::unique_ptr<Socket>> slow;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(std::make_unique<Socket>(port()));
    ASSERT_TRUE(slow.back()->Send(
        absl::StrCat("GET /v1/books/sleep-1500 HTTP/1.1\r\n", librarian_, "\r\n")));
  }
  absl::SleepFor(absl::Milliseconds(100));
  Socket quick(port());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(quick.Send(kGetBooks));
  EXPECT_EQ(Count(quick.Read(1), "HTTP/1.1 200 OK"), 1);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1000));
  for (auto& s : slow) EXPECT_EQ(Count(s->Read(1), "HTTP/1.1 200 OK"), 1);
}

TEST_F(EventHttpServerTest, HostileFramingAnswersItsStatusAndCloses) {
  struct Case {
    std::string wire;
    std::string status;
  } cases[] = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 "},
      {"POST /v1/books HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 "},
      {"POST /v1/books HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 400 "},
      {"POST /v1/books HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n", "HTTP/1.1 413 "},
      {absl::StrCat("GET /v1/books HTTP/1.1\r\nX: ", std::string(9000, 'a'), "\r\n\r\n"),
       "HTTP/1.1 431 "},
  };
  for (const Case& c : cases) {
    Socket s(port());
    ASSERT_TRUE(s.Send(c.wire));
    const std::string out = s.Read(1);
    EXPECT_TRUE(absl::StartsWith(out, c.status)) << c.wire.substr(0, 60) << " -> " << out;
    EXPECT_TRUE(absl::StrContains(out, "\"message\"")) << out;
    EXPECT_TRUE(s.ClosedWithin(absl::Seconds(4))) << c.wire.substr(0, 60);
  }
  // The server is unharmed.
  Socket after(port());
  ASSERT_TRUE(after.Send(kGetBooks));
  EXPECT_EQ(Count(after.Read(1), "HTTP/1.1 200 OK"), 1);
}

TEST_F(EventHttpServerTest, ChunkedBodiesAndExpectContinueReachTheBackendWhole) {
  const std::string json = R"({"bookId":"chunky","title":"Chunky","copies":1,)"
                           R"("dailyFee":{"currency":"KRW","amountMinor":"100"}})";
  Socket s(port());
  ASSERT_TRUE(s.Send(absl::StrCat("POST /v1/books HTTP/1.1\r\nContent-Type: application/json\r\n",
                                  librarian_,
                                  "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")));
  const std::string interim = s.Read(1, absl::Seconds(2));
  EXPECT_TRUE(absl::StartsWith(interim, "HTTP/1.1 100 Continue\r\n\r\n")) << interim;
  const size_t half = json.size() / 2;
  ASSERT_TRUE(s.Send(absl::StrCat(absl::Hex(half), "\r\n", json.substr(0, half), "\r\n")));
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(s.Send(
      absl::StrCat(absl::Hex(json.size() - half), ";x=y\r\n", json.substr(half), "\r\n0\r\n\r\n")));
  const std::string out = s.Read(2);
  EXPECT_TRUE(absl::StrContains(out, "HTTP/1.1 201 Created")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\"bookId\":\"chunky\"")) << out;
  Socket get(port());
  ASSERT_TRUE(get.Send(absl::StrCat("GET /v1/books/chunky HTTP/1.1\r\n", librarian_, "\r\n")));
  EXPECT_TRUE(absl::StrContains(get.Read(1), "\"title\":\"Chunky\""));
}

TEST_F(EventHttpServerTest, SlowAndIdleClientsAreDroppedAfterTheirTimeouts) {
  Socket idle(port());
  ASSERT_TRUE(idle.Send(kGetBooks));
  EXPECT_EQ(Count(idle.Read(1), "HTTP/1.1 200"), 1);
  Socket slow(port());
  ASSERT_TRUE(slow.Send("GET /v1/books HTTP/1.1\r\nHost:"));  // and then nothing
  const absl::Time start = absl::Now();
  EXPECT_TRUE(idle.ClosedWithin(absl::Seconds(4)));
  EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(4)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(Count(slow.Read(1, absl::Milliseconds(10)), "HTTP/1.1"), 0);
}

TEST_F(EventHttpServerTest, AClientThatHalfClosesStillGetsItsAnswer) {
  Socket s(port());
  ASSERT_TRUE(s.Send(kGetBooks));
  s.ShutdownWrite();
  const std::string out = s.Read(1);
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 1) << out;
  EXPECT_TRUE(s.ClosedWithin(absl::Seconds(3)));
}

TEST_F(EventHttpServerTest, StopWaitsForACallInFlightAndAnswersIt) {
  Socket s(port());
  ASSERT_TRUE(s.Send(absl::StrCat("GET /v1/books/sleep-500 HTTP/1.1\r\n", librarian_, "\r\n")));
  absl::SleepFor(absl::Milliseconds(100));
  server_->Stop();
  const std::string out = s.Read(1, absl::Seconds(1));
  EXPECT_EQ(Count(out, "HTTP/1.1 "), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "Connection: close")) << out;
}

}  // namespace
}  // namespace rentmesh::gateway
