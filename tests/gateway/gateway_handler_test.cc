#include "gateway/core/gateway_handler.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/view/v1/view.pb.h"
#include "testing/test_keys.h"

namespace rentmesh::gateway {
namespace {

namespace rv1 = rentmesh::rental::v1;
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

// Records the last call; answers with a canned response or status.
class RecordingBackendCaller final : public BackendCaller {
 public:
  absl::StatusOr<std::string> Unary(const BackendCall& call) override {
    last = call;
    ++calls;
    return reply;
  }
  std::unique_ptr<MessageStream> ServerStream(const BackendCall& call) override {
    last = call;
    ++calls;
    class Stream final : public MessageStream {
     public:
      explicit Stream(std::deque<absl::StatusOr<std::optional<std::string>>> items)
          : items_(std::move(items)) {}
      absl::StatusOr<std::optional<std::string>> Next() override {
        if (items_.empty()) return std::optional<std::string>();
        auto next = items_.front();
        items_.pop_front();
        return next;
      }
      void Cancel() override {}

     private:
      std::deque<absl::StatusOr<std::optional<std::string>>> items_;
    };
    return std::make_unique<Stream>(stream_items);
  }
  std::string Md(const std::string& key) const {
    for (const auto& [k, v] : last.metadata) {
      if (k == key) return v;
    }
    return "<absent>";
  }

  BackendCall last;
  int calls = 0;
  absl::StatusOr<std::string> reply = std::string();
  std::deque<absl::StatusOr<std::optional<std::string>>> stream_items;
};

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

class GatewayHandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { keys_ = new testing::KeyPair(testing::GenerateRsaKeyPair()); }

  void SetUp() override {
    auto t = RouteTable::FromServices(
        {rv1::Book::descriptor()->file()->service(0),
         rentmesh::payment::v1::Payment::descriptor()->file()->service(0),
         rentmesh::returns::v1::Return::descriptor()->file()->service(0),
         rentmesh::view::v1::RentalSummary::descriptor()->file()->service(0)});
    ASSERT_TRUE(t.ok());
    table_ = std::make_unique<RouteTable>(*std::move(t));
  }

  GatewayHandler& Handler(bool auth) {
    GatewayOptions o;
    o.max_body_bytes = 1000;
    std::unique_ptr<JwtVerifier> v;
    if (auth) {
      JwtVerifierConfig c;
      c.public_key_pem = keys_->public_pem;
      c.issuer = "rentmesh-dev";
      c.audience = "rentmesh";
      v = *JwtVerifier::Create(c, [] { return kNow; });
    }
    handler_ =
        std::make_unique<GatewayHandler>(o, *table_, backend_, std::move(v), [] { return kNow; });
    return *handler_;
  }

  std::string Token(const std::string& sub, const std::string& roles = "[]") {
    return testing::MintToken("RS256", keys_->private_pem,
                              R"({"iss":"rentmesh-dev","aud":"rentmesh","exp":1800000600,"sub":")" +
                                  sub + R"(","roles":)" + roles + "}");
  }

  static testing::KeyPair* keys_;
  std::unique_ptr<RouteTable> table_;
  RecordingBackendCaller backend_;
  std::unique_ptr<GatewayHandler> handler_;
};
testing::KeyPair* GatewayHandlerTest::keys_ = nullptr;

TEST_F(GatewayHandlerTest, CreatingCallAnswers201WithJson) {
  rv1::Book b;
  b.set_book_id("b1");
  backend_.reply = b.SerializeAsString();
  HttpResponse r =
      Handler(false).Handle({"POST", "/v1/books", {}, R"({"bookId":"b1","copies":1})"});
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["bookId"], "b1");
  EXPECT_EQ(backend_.last.backend, "rental");
  EXPECT_EQ(backend_.last.method_path, "/rentmesh.rental.v1.RentalService/AddBook");
  EXPECT_EQ(backend_.last.deadline, kNow + absl::Seconds(10));
  HttpResponse s = Handler(false).Handle({"POST", "/v1/books/b1:stock", {}, R"({"copies":1})"});
  EXPECT_EQ(s.status, 200) << "a :verb is not a create";
}

TEST_F(GatewayHandlerTest, AMutatingCallWithoutARequestIdGetsTheXRequestIdSoRetriesAreRecognised) {
  rv1::Rental reply;
  backend_.reply = reply.SerializeAsString();
  HttpResponse r = Handler(false).Handle({"POST",
                                          "/v1/rentals",
                                          {{"x-request-id", "client-retry-key-1"}},
                                          R"({"customerId":"alice","bookId":"b1","days":2})"});
  ASSERT_EQ(r.status, 201) << r.body;
  rv1::RentBookRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend_.last.request));
  EXPECT_EQ(sent.request_id(), "client-retry-key-1");
  // A request id the client chose is kept.
  Handler(false).Handle({"POST",
                         "/v1/rentals",
                         {{"x-request-id", "other"}},
                         R"({"customerId":"alice","bookId":"b1","days":2,"requestId":"mine"})"});
  ASSERT_TRUE(sent.ParseFromString(backend_.last.request));
  EXPECT_EQ(sent.request_id(), "mine");
}

TEST_F(GatewayHandlerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  HttpResponse r = Handler(false).Handle({"GET", "/v1/unknown", {}, ""});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], 5);
  HttpResponse m = Handler(false).Handle({"PUT", "/v1/books/b1", {}, ""});
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(Header(m, "Allow"), "GET");
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(GatewayHandlerTest, OversizedBodyIs413AndNeverReachesTheBackend) {
  HttpResponse r = Handler(false).Handle({"POST", "/v1/books", {}, std::string(1001, ' ')});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(GatewayHandlerTest, MissingOrBadTokenIs401WithChallenge) {
  HttpResponse none = Handler(true).Handle({"GET", "/v1/books/b1", {}, ""});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Header(none, "WWW-Authenticate"), "Bearer realm=\"rentmesh\"");
  HttpResponse bad =
      Handler(true).Handle({"GET", "/v1/books/b1", {{"authorization", "Bearer x.y.z"}}, ""});
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(Header(bad, "WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(GatewayHandlerTest, VerifiedIdentityReplacesClientIdentityHeaders) {
  const std::string token = Token("alice", R"(["librarian"])");
  HttpResponse r = Handler(true).Handle(
      {"GET",
       "/v1/books/b1",
       {{"authorization", "Bearer " + token},
        {"x-rentmesh-subject", "mallory"},
        {"x-rentmesh-roles", "admin"},
        {"grpc-metadata-x-rentmesh-subject", "mallory"},
        {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        {"tracestate", "vendor=1"},
        {"x-b3-traceid", "abc"},
        {"b3", "abc-def-1"},
        {"grpc-metadata-tenant", "t1"},
        {"cookie", "secret"},
        {"x-request-id", "req-42"}},
       ""});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(backend_.Md("x-rentmesh-subject"), "alice");
  EXPECT_EQ(backend_.Md("x-rentmesh-roles"), "librarian");
  EXPECT_EQ(backend_.Md("authorization"), "Bearer " + token);
  EXPECT_EQ(backend_.Md("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(backend_.Md("tracestate"), "vendor=1");
  EXPECT_EQ(backend_.Md("x-b3-traceid"), "abc");
  EXPECT_EQ(backend_.Md("b3"), "abc-def-1");
  EXPECT_EQ(backend_.Md("tenant"), "t1");
  EXPECT_EQ(backend_.Md("cookie"), "<absent>");
  EXPECT_EQ(backend_.Md("x-request-id"), "req-42");
  EXPECT_EQ(Header(r, "X-Request-Id"), "req-42");
  int subjects = 0;
  for (const auto& [k, v] : backend_.last.metadata) subjects += k == "x-rentmesh-subject";
  EXPECT_EQ(subjects, 1);
}

TEST_F(GatewayHandlerTest, WithoutAuthClientIdentityHeadersAreDropped) {
  Handler(false).Handle({"GET",
                         "/v1/books/b1",
                         {{"x-rentmesh-subject", "mallory"}, {"x-rentmesh-roles", "librarian"}},
                         ""});
  EXPECT_EQ(backend_.Md("x-rentmesh-subject"), "<absent>");
  EXPECT_EQ(backend_.Md("x-rentmesh-roles"), "<absent>");
}

TEST_F(GatewayHandlerTest, GeneratesARequestIdWhenMissing) {
  HttpResponse r = Handler(false).Handle({"GET", "/v1/books/b1", {}, ""});
  const std::string id = Header(r, "X-Request-Id");
  EXPECT_EQ(id.size(), 36u) << id;
  EXPECT_EQ(backend_.Md("x-request-id"), id);
}

TEST_F(GatewayHandlerTest, GrpcTimeoutSetsTheDeadline) {
  Handler(false).Handle({"GET", "/v1/books/b1", {{"grpc-timeout", "250m"}}, ""});
  EXPECT_EQ(backend_.last.deadline, kNow + absl::Milliseconds(250));
  HttpResponse bad = Handler(false).Handle({"GET", "/v1/books/b1", {{"grpc-timeout", "soon"}}, ""});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ParseGrpcTimeout("2S"), absl::Seconds(2));
  EXPECT_EQ(ParseGrpcTimeout("1H"), absl::Hours(1));
  EXPECT_FALSE(ParseGrpcTimeout("123456789S").has_value());
  EXPECT_FALSE(ParseGrpcTimeout("5").has_value());
}

TEST_F(GatewayHandlerTest, BackendErrorsFollowTheStatusTable) {
  backend_.reply = absl::FailedPreconditionError("no copy left");
  HttpResponse r = Handler(false).Handle(
      {"POST", "/v1/rentals", {}, R"({"customerId":"c","bookId":"b","days":1})"});
  EXPECT_EQ(r.status, 400);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["code"], 9);
  EXPECT_EQ(j["message"], "no copy left");
  backend_.reply = absl::UnavailableError("payment down");
  EXPECT_EQ(Handler(false).Handle({"GET", "/v1/books/b1", {}, ""}).status, 503);
}

TEST_F(GatewayHandlerTest, NonPrintableHeaderValuesAreRejected) {
  HttpResponse r = Handler(false).Handle({"GET", "/v1/books/b1", {{"traceparent", "a\x01z"}}, ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(backend_.calls, 0);
}

TEST_F(GatewayHandlerTest, StreamsNdjsonAndMapsAnImmediateFailure) {
  rentmesh::view::v1::MyPageChange c;
  c.set_event_type("BookRented");
  backend_.stream_items = {std::optional<std::string>(c.SerializeAsString()),
                           std::optional<std::string>(c.SerializeAsString()),
                           absl::CancelledError("gone")};
  HttpResponse r = Handler(false).Handle({"GET", "/v1/customers/c1/rentals:watch", {}, ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-ndjson");
  std::string all = r.body;
  ASSERT_NE(r.stream, nullptr);
  while (auto chunk = r.stream->NextChunk()) all += *chunk;
  EXPECT_EQ(all.substr(0, all.find('\n')), R"({"result":{"eventType":"BookRented"}})");
  EXPECT_NE(all.find(R"({"error":{"code":1)"), std::string::npos) << all;
  backend_.stream_items = {absl::PermissionDeniedError("not yours")};
  EXPECT_EQ(Handler(false).Handle({"GET", "/v1/customers/c1/rentals:watch", {}, ""}).status, 403);
}

TEST_F(GatewayHandlerTest, ServesOpenApiAndRejectsWritesToIt) {
  HttpResponse r = Handler(true).Handle({"GET", "/openapi.json", {}, ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["openapi"], "3.0.3");
  EXPECT_EQ(Handler(true).Handle({"POST", "/openapi.json", {}, ""}).status, 405);
}

TEST_F(GatewayHandlerTest, HealthzReportsBackends) {
  backend_.reply = std::string("\x08\x01", 2);
  HttpResponse ok = Handler(false).Handle({"GET", "/healthz", {}, ""});
  EXPECT_EQ(ok.status, 200) << ok.body;
  backend_.reply = absl::UnavailableError("down");
  HttpResponse down = Handler(false).Handle({"GET", "/healthz", {}, ""});
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(nlohmann::json::parse(down.body)["status"], "NOT_SERVING");
}

}  // namespace
}  // namespace rentmesh::gateway
