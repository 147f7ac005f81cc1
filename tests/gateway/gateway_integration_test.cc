// Black-box tests through the real HTTP server, the real generic gRPC client
// and real gRPC servers (in-process fakes of the four services with the
// contracts' authorization rules).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway/adapters/grpc_backend_caller.h"
#include "gateway/adapters/http_gateway_server.h"
#include "gateway/core/gateway_handler.h"
#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/view/v1/view.pb.h"
#include "testing/fake_services.h"
#include "testing/test_keys.h"

namespace rentmesh::gateway {
namespace {

using nlohmann::json;

// Every test runs on both HTTP engines: the same behaviour at the edge.
class GatewayIntegrationTest : public ::testing::TestWithParam<HttpEngine> {
 protected:
  void SetUp() override {
    if (keys_ == nullptr) keys_ = new testing::KeyPair(testing::GenerateRsaKeyPair());
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
    options.max_body_bytes = 64 * 1024;
    // The functional tests send bursts from one address; the limit has its own test.
    options.rate_limit.per_second = 0;
    StartGateway(options);
  }

  // (Re)starts the handler and HTTP server with `options`.
  void StartGateway(const GatewayOptions& options) {
    client_.reset();
    server_.reset();
    handler_.reset();
    JwtVerifierConfig jwt;
    jwt.public_key_pem = keys_->public_pem;
    jwt.issuer = "rentmesh-dev";
    jwt.audience = "rentmesh";
    handler_ =
        std::make_unique<GatewayHandler>(options, *routes_, *caller_, *JwtVerifier::Create(jwt));
    HttpServerOptions http;
    http.port = 0;
    http.engine = GetParam();
    http.threads = 8;
    http.max_body_bytes = options.max_body_bytes;
    auto server = HttpGatewayServer::Start(http, *handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_keep_alive(true);
    client_->set_read_timeout(10, 0);
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    handler_.reset();
    caller_.reset();
    backends_.reset();
  }

  static std::string Token(const std::string& sub, const std::string& roles = "[]",
                           int64_t exp = 4102444800) {
    return testing::MintToken("RS256", keys_->private_pem,
                              absl::StrCat(R"({"iss":"rentmesh-dev","aud":"rentmesh","exp":)", exp,
                                           R"(,"sub":")", sub, R"(","roles":)", roles, "}"));
  }
  static httplib::Headers As(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  struct Reply {
    int status = 0;
    json body;
    std::string raw;
    httplib::Headers headers;
  };
  Reply Do(const std::string& method, const std::string& path, const httplib::Headers& h,
           const std::string& body = "") {
    httplib::Result r =
        method == "GET"     ? client_->Get(path.c_str(), h)
        : method == "POST"  ? client_->Post(path.c_str(), h, body, "application/json")
        : method == "PUT"   ? client_->Put(path.c_str(), h, body, "application/json")
        : method == "PATCH" ? client_->Patch(path.c_str(), h, body, "application/json")
                            : client_->Delete(path.c_str(), h);
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    out.headers = r->headers;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  static testing::KeyPair* keys_;
  std::unique_ptr<testing::FakeBackends> backends_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<GrpcBackendCaller> caller_;
  std::unique_ptr<GatewayHandler> handler_;
  std::unique_ptr<HttpGatewayServer> server_;
  std::unique_ptr<httplib::Client> client_;
};
testing::KeyPair* GatewayIntegrationTest::keys_ = nullptr;

TEST_P(GatewayIntegrationTest, EveryRouteOfEveryServiceWorksEndToEnd) {
  const auto lib = As(Token("lib-1", R"(["librarian"])"));
  const auto alice = As(Token("alice"));

  Reply add = Do(
      "POST", "/v1/books", lib,
      R"({"bookId":"b1","title":"Dune","copies":1,"dailyFee":{"currency":"KRW","amountMinor":"500"}})");
  ASSERT_EQ(add.status, 201) << add.raw;
  EXPECT_EQ(add.body["copiesAvailable"], 1);
  EXPECT_EQ(
      Do("POST", "/v1/books/b1:stock", lib, R"({"copies":2,"requestId":"s1"})").body["copies"], 3);
  EXPECT_EQ(Do("GET", "/v1/books/b1", alice).body["title"], "Dune");
  EXPECT_EQ(Do("GET", "/v1/books?pageSize=10", alice).body["books"].size(), 1u);
  EXPECT_EQ(Do("GET", "/v1/catalog", alice).body["books"][0]["copiesAvailable"], 3);

  Reply rent = Do("POST", "/v1/rentals", alice,
                  R"({"customerId":"alice","bookId":"b1","days":3,"requestId":"q1"})");
  ASSERT_EQ(rent.status, 201) << rent.raw;
  const std::string rental = rent.body["rentalId"];
  EXPECT_EQ(rent.body["status"], "RENTAL_STATUS_RENTED");
  EXPECT_EQ(rent.body["fee"]["amountMinor"], "1500");
  const std::string payment = rent.body["paymentId"];

  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, alice).body["bookTitle"], "Dune");
  EXPECT_EQ(Do("GET", "/v1/rental-status/" + rental, alice).body["timeline"][0]["eventType"],
            "BookRented");
  EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals", alice).body["rentals"].size(), 1u);
  Reply watch = Do("GET", "/v1/customers/alice/rentals:watch", alice);
  EXPECT_EQ(watch.status, 200);
  EXPECT_EQ(json::parse(watch.raw.substr(0, watch.raw.find('\n')))["result"]["rental"]["rentalId"],
            rental);

  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental + "/payments", alice).body["payments"].size(), 1u);
  EXPECT_EQ(Do("GET", "/v1/payments/" + payment, alice).body["status"], "PAYMENT_STATUS_APPROVED");
  // The saga's internal steps are not routed: 404 at the edge, for anyone.
  for (const auto& who : {alice, lib}) {
    Reply pay = Do(
        "POST", "/v1/payments", who,
        R"({"rentalId":"late-1","customerId":"alice","amount":{"currency":"KRW","amountMinor":"100"}})");
    EXPECT_EQ(pay.status, 404) << pay.raw;
    EXPECT_EQ(Do("POST", "/v1/payments/" + payment + ":refund", who, R"({"reason":"test"})").status,
              404);
    EXPECT_EQ(Do("POST", "/v1/returns", who,
                 R"({"rentalId":")" + rental + R"(","customerId":"alice","bookId":"b1"})")
                  .status,
              404);
  }
  EXPECT_EQ(Do("GET", "/v1/payments/" + payment, alice).body["status"], "PAYMENT_STATUS_APPROVED");

  EXPECT_EQ(Do("POST", "/v1/rentals/" + rental + ":return", alice,
               R"({"condition":"BOOK_CONDITION_GOOD"})")
                .body["status"],
            "RENTAL_STATUS_RETURNED");
  Reply ret = Do("GET", "/v1/rentals/" + rental + "/return", alice);
  EXPECT_EQ(ret.status, 200) << ret.raw;
  EXPECT_EQ(Do("GET", "/v1/returns/" + std::string(ret.body["returnId"]), alice).body["condition"],
            "CONDITION_GOOD");

  Reply rent2 =
      Do("POST", "/v1/rentals", alice, R"({"customer_id":"alice","book_id":"b1","days":1})");
  ASSERT_EQ(rent2.status, 201);
  Reply cancel = Do("POST", "/v1/rentals/" + std::string(rent2.body["rentalId"]) + ":cancel", alice,
                    R"({"reason":"changed my mind"})");
  EXPECT_EQ(cancel.body["status"], "RENTAL_STATUS_CANCELLED");
  EXPECT_EQ(cancel.body["cancelReason"], "changed my mind");
}

TEST_P(GatewayIntegrationTest, CustomersReachOnlyTheirOwnRentals) {
  const auto lib = As(Token("lib-1", R"(["librarian"])"));
  const auto alice = As(Token("alice"));
  const auto bob = As(Token("bob"));
  ASSERT_EQ(Do("POST", "/v1/books", lib, R"({"bookId":"b1","title":"T","copies":2})").status, 201);
  EXPECT_EQ(Do("POST", "/v1/books", alice, R"({"bookId":"b2","title":"T","copies":2})").status, 403)
      << "AddBook needs the librarian role";
  EXPECT_EQ(Do("POST", "/v1/books/b1:stock", bob, R"({"copies":1})").status, 403);
  Reply rent = Do("POST", "/v1/rentals", alice, R"({"customerId":"alice","bookId":"b1","days":1})");
  ASSERT_EQ(rent.status, 201);
  const std::string rental = rent.body["rentalId"];
  EXPECT_EQ(
      Do("POST", "/v1/rentals", bob, R"({"customerId":"alice","bookId":"b1","days":1})").status,
      403);
  Reply peek = Do("GET", "/v1/rentals/" + rental, bob);
  EXPECT_EQ(peek.status, 403);
  EXPECT_EQ(peek.body["code"], 7);
  EXPECT_EQ(Do("POST", "/v1/rentals/" + rental + ":cancel", bob, "{}").status, 403);
  EXPECT_EQ(Do("POST", "/v1/rentals/" + rental + ":return", bob, "{}").status, 403);
  EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals", bob).status, 403);
  EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals:watch", bob).status, 403);
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, lib).status, 200)
      << "librarians may read any rental";
  // Identity headers sent by a client never reach the services.
  httplib::Headers spoof = bob;
  spoof.emplace("x-rentmesh-subject", "alice");
  spoof.emplace("x-rentmesh-roles", "librarian");
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, spoof).status, 403);
}

TEST_P(GatewayIntegrationTest, JwtIsRequiredAndChecked) {
  Reply none = Do("GET", "/v1/books/b1", {});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body["code"], 16);
  EXPECT_EQ(none.headers.find("WWW-Authenticate")->second, "Bearer realm=\"rentmesh\"");
  Reply expired = Do("GET", "/v1/books/b1", As(Token("alice", "[]", 1000)));
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.headers.find("WWW-Authenticate")->second.find("invalid_token"),
            std::string::npos);
  const testing::KeyPair other = testing::GenerateRsaKeyPair();
  const std::string forged = testing::MintToken(
      "RS256", other.private_pem,
      R"({"iss":"rentmesh-dev","aud":"rentmesh","exp":4102444800,"sub":"alice"})");
  EXPECT_EQ(Do("GET", "/v1/books/b1", As(forged)).status, 401);
  EXPECT_EQ(Do("GET", "/v1/books/b1", As(Token("alice"))).status, 404)
      << "valid token reaches the service";
}

TEST_P(GatewayIntegrationTest, GrpcErrorsMapToGrpcGatewaysHttpTable) {
  const auto alice = As(Token("alice"));
  const std::map<int, int> expected = {
      {1, 499}, {2, 500},  {3, 400},  {4, 504},  {5, 404},  {6, 409},  {7, 403},  {8, 429},
      {9, 400}, {10, 409}, {11, 400}, {12, 501}, {13, 500}, {14, 503}, {15, 500}, {16, 401}};
  for (const auto& [code, http] : expected) {
    Reply r = Do("GET", absl::StrCat("/v1/books/status-", code), alice);
    EXPECT_EQ(r.status, http) << "grpc code " << code << " " << r.raw;
    EXPECT_EQ(r.body["code"], code) << r.raw;
    EXPECT_TRUE(r.body["details"].is_array());
  }
}

TEST_P(GatewayIntegrationTest, GrpcTimeoutHeaderBoundsTheCall) {
  const auto alice = As(Token("alice"));
  httplib::Headers h = alice;
  h.emplace("Grpc-Timeout", "100m");
  Reply slow = Do("GET", "/v1/books/sleep-1000", h);
  EXPECT_EQ(slow.status, 504) << slow.raw;
  EXPECT_EQ(Do("GET", "/v1/books/sleep-10", alice).status, 200);
}

TEST_P(GatewayIntegrationTest, ForwardsAuthorizationTraceAndRequestIdHeaders) {
  const std::string token = Token("alice");
  httplib::Headers h = As(token);
  h.emplace("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  h.emplace("tracestate", "congo=t61rcWkgMzE");
  h.emplace("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7");
  h.emplace("X-B3-SpanId", "e457b5a2e4d86bd1");
  h.emplace("X-B3-Sampled", "1");
  h.emplace("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  h.emplace("X-Request-Id", "rid-123");
  Reply r = Do("GET", "/v1/books/missing", h);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.find("X-Request-Id")->second, "rid-123");
  auto& md = backends_->metadata();
  EXPECT_EQ(md.Last("authorization"), "Bearer " + token);
  EXPECT_EQ(md.Last("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(md.Last("tracestate"), "congo=t61rcWkgMzE");
  EXPECT_EQ(md.Last("x-b3-traceid"), "80f198ee56343ba864fe8b2a57d3eff7");
  EXPECT_EQ(md.Last("x-b3-spanid"), "e457b5a2e4d86bd1");
  EXPECT_EQ(md.Last("x-b3-sampled"), "1");
  EXPECT_EQ(md.Last("b3"), "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  EXPECT_EQ(md.Last("x-request-id"), "rid-123");
  EXPECT_EQ(md.Last("x-rentmesh-subject"), "alice");
  Reply generated = Do("GET", "/v1/books/missing", As(token));
  const std::string id = generated.headers.find("X-Request-Id")->second;
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(md.Last("x-request-id"), id);
}

TEST_P(GatewayIntegrationTest, BadInputNeverReachesABackend) {
  const auto alice = As(Token("alice"));
  const auto lib = As(Token("lib", R"(["librarian"])"));
  EXPECT_EQ(Do("GET", "/v1/nope", alice).status, 404);
  Reply wrong = Do("DELETE", "/v1/books/b1", alice);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers.find("Allow")->second, "GET");
  Reply big = Do("POST", "/v1/books", lib, std::string(70 * 1024, ' '));
  EXPECT_EQ(big.status, 413) << big.raw;
  EXPECT_EQ(big.body["code"], 3);
  for (const std::string& body :
       {std::string(R"({"bookId":)"), std::string(R"({"bookId":"b","x":1})"),
        std::string(R"({"copies":"two"})"), std::string("{\"title\":\"\xc3\x28\"}"),
        std::string(5000, '[')}) {
    Reply r = Do("POST", "/v1/books", lib, body);
    EXPECT_EQ(r.status, 400) << body.substr(0, 40) << " " << r.raw;
    EXPECT_EQ(r.body["code"], 3);
  }
  EXPECT_EQ(Do("GET", "/v1/books?bogus=1", alice).status, 400);
  EXPECT_EQ(Do("GET", "/v1/books/%ZZ", alice).status, 404) << "a malformed escape matches no route";
  EXPECT_EQ(Do("GET", "/v1/books", alice).status, 200) << "the server is still up";
}

TEST_P(GatewayIntegrationTest, ServesOpenApiAndHealth) {
  Reply doc = Do("GET", "/openapi.json", {});
  EXPECT_EQ(doc.status, 200);
  // 21 routes on 20 templates, plus /healthz; the 3 internal RPCs are listed apart.
  EXPECT_EQ(doc.body["paths"].size(), 21u);
  EXPECT_TRUE(doc.body["paths"].contains("/v1/books/{book_id}/holds"));
  EXPECT_TRUE(doc.body["paths"].contains("/v1/customers/{customer_id}/holds"));
  EXPECT_TRUE(doc.body["paths"].contains("/v1/holds/{hold_id}/release"));
  EXPECT_EQ(doc.body["x-rentmesh-internal"].size(), 3u);
  EXPECT_FALSE(doc.body["paths"].contains("/v1/payments"));
  EXPECT_FALSE(doc.body["paths"].contains("/v1/returns"));
  Reply health = Do("GET", "/healthz", {});
  EXPECT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(health.body["backends"]["rental"], "SERVING");
  backends_->Stop("payment");
  Reply down = Do("GET", "/healthz", {});
  EXPECT_EQ(down.status, 503) << down.raw;
  EXPECT_EQ(down.body["backends"]["rental"], "SERVING");
  EXPECT_NE(down.body["backends"]["payment"], "SERVING");
  EXPECT_EQ(Do("GET", "/v1/payments/p1", As(Token("alice"))).status, 503);
}

TEST_P(GatewayIntegrationTest, KeepAliveServesManyRequestsOnOneConnection) {
  const auto alice = As(Token("alice"));
  for (int i = 0; i < 200; ++i) ASSERT_EQ(Do("GET", "/v1/books", alice).status, 200) << i;
}

TEST_P(GatewayIntegrationTest, AClientOverItsRateLimitGets429WithRetryAfter) {
  GatewayOptions options;
  options.rate_limit.per_second = 1;
  options.rate_limit.burst = 5;
  StartGateway(options);
  const auto alice = As(Token("alice"));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Do("GET", "/v1/books", alice).status, 200) << i;
  Reply limited = Do("GET", "/v1/books", alice);
  EXPECT_EQ(limited.status, 429) << limited.raw;
  EXPECT_EQ(limited.body["code"], 8);  // RESOURCE_EXHAUSTED
  auto retry = limited.headers.find("Retry-After");
  ASSERT_NE(retry, limited.headers.end());
  EXPECT_EQ(retry->second, "1");
  EXPECT_EQ(Do("GET", "/healthz", {}).status, 200) << "probes are not limited";
}

TEST_P(GatewayIntegrationTest, OpenWatchStreamsAreCappedSoTheRestApiStaysUp) {
  GatewayOptions options;
  options.rate_limit.per_second = 0;
  options.max_open_streams = 2;
  StartGateway(options);
  const std::string token = Token("holder");  // the fake keeps its watch open
  const auto holder = As(token);
  ASSERT_EQ(
      Do("POST", "/v1/books", As(Token("lib-1", R"(["librarian"])")),
         R"({"bookId":"w1","title":"W","copies":1,"dailyFee":{"currency":"KRW","amountMinor":"1"}})")
          .status,
      201);
  ASSERT_EQ(Do("POST", "/v1/rentals", holder,
               R"({"customerId":"holder","bookId":"w1","days":1,"requestId":"w"})")
                .status,
            201);
  // Two watches that stay open (own connections, reading slowly).
  std::vector<std::unique_ptr<httplib::Client>> watchers;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 2; ++i) {
    watchers.push_back(std::make_unique<httplib::Client>("127.0.0.1", server_->port()));
    watchers.back()->set_read_timeout(3, 0);
    httplib::Client* c = watchers.back().get();
    threads.emplace_back([c, &opened, h = As(token)] {
      c->Get("/v1/customers/holder/rentals:watch", h, [&](const char*, size_t) {
        opened++;
        return true;
      });
    });
  }
  for (int i = 0; i < 100 && opened < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(opened.load(), 2);
  Reply third = Do("GET", "/v1/customers/holder/rentals:watch", holder);
  EXPECT_EQ(third.status, 429) << third.raw;
  auto retry = third.headers.find("Retry-After");
  EXPECT_NE(retry, third.headers.end());
  EXPECT_EQ(Do("GET", "/v1/books", holder).status, 200) << "the REST API still answers";
  for (auto& c : watchers) c->stop();
  for (auto& t : threads) t.join();
}

TEST_P(GatewayIntegrationTest, OversizedHeadersAnswer431) {
  auto headers = As(Token("alice"));
  for (int i = 0; i < 4; ++i) headers.emplace(absl::StrCat("x-pad-", i), std::string(5000, 'a'));
  Reply big = Do("GET", "/v1/books", headers);
  EXPECT_EQ(big.status, 431) << big.raw;
}

INSTANTIATE_TEST_SUITE_P(Engines, GatewayIntegrationTest,
                         ::testing::Values(HttpEngine::kEvent, HttpEngine::kThreaded),
                         [](const ::testing::TestParamInfo<HttpEngine>& info) {
                           return info.param == HttpEngine::kEvent ? "Event" : "Threaded";
                         });

}  // namespace
}  // namespace rentmesh::gateway
