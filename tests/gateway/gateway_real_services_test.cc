// End-to-end through the real gateway and the real service binaries
// (nats-server -js + rental, payment, returns, and view when built), each on
// a free loopback port with its own temp folders. Skipped when a binary is
// missing. Binaries: RENTMESH_SERVICE_BIN_DIR/<svc>/<svc>_server, else the
// paths CMake compiled in.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway/adapters/grpc_backend_caller.h"
#include "gateway/adapters/http_gateway_server.h"
#include "gateway/core/gateway_handler.h"
#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/testing/test_env.h"
#include "rentmesh/view/v1/view.pb.h"
#include "testing/test_keys.h"

extern char** environ;

namespace rentmesh::gateway {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int FreePort() { return rentmesh::testing::PickFreePort(); }

std::string Binary(const std::string& svc, const char* compiled_in) {
  if (const char* dir = std::getenv("RENTMESH_SERVICE_BIN_DIR")) {
    return absl::StrCat(dir, "/", svc, "/", svc, "_server");
  }
  return compiled_in;
}

// A child process, SIGTERMed and reaped on destruction; output to `log`.
class Child final {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

class RealServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bins_ = {{"rental", Binary("rental", RENTMESH_RENTAL_SERVER)},
             {"payment", Binary("payment", RENTMESH_PAYMENT_SERVER)},
             {"returns", Binary("returns", RENTMESH_RETURNS_SERVER)}};
    for (const auto& [svc, path] : bins_) {
      if (!fs::exists(path)) GTEST_SKIP() << svc << " binary not built: " << path;
    }
    const std::string view = Binary("view", RENTMESH_VIEW_SERVER);
    has_view_ = fs::exists(view);
    dir_ = fs::temp_directory_path() / absl::StrCat("rentmesh-gw-e2e-", getpid(), "-", FreePort());
    fs::create_directories(dir_);
    const std::string nats_url = absl::StrCat("nats://127.0.0.1:", nats_port_ = FreePort());
    procs_.push_back(std::make_unique<Child>(
        std::vector<std::string>{"/usr/sbin/nats-server", "-js", "-a", "127.0.0.1", "-p",
                                 std::to_string(nats_port_), "-sd", (dir_ / "nats").string()},
        (dir_ / "nats.log").string()));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (const char* svc : {"payment", "returns", "rental", "view"}) ports_[svc] = FreePort();
    auto addr = [&](const char* svc) { return absl::StrCat("127.0.0.1:", ports_[svc]); };
    auto start = [&](const std::string& svc, const std::string& bin,
                     std::vector<std::string> extra) {
      std::vector<std::string> argv = {
          bin, "--grpc_address=" + addr(svc.c_str()), "--nats_url=" + nats_url,
          "--data_dir=" + (dir_ / svc).string(), "--admin_address=127.0.0.1:0"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      procs_.push_back(std::make_unique<Child>(argv, (dir_ / (svc + ".log")).string()));
    };
    // No mesh: the services verify the forwarded JWT with the gateway's key,
    // and rental signs its calls to payment and returns with a service key.
    keys_ = testing::GenerateRsaKeyPair();
    const testing::KeyPair service_keys = testing::GenerateEcKeyPair();
    auto write = [&](const std::string& name, const std::string& text) {
      std::ofstream((dir_ / name).string()) << text;
      return (dir_ / name).string();
    };
    const std::vector<std::string> identity = {
        "--jwt_public_key_file=" + write("user-public.pem", keys_.public_pem),
        "--service_jwt_public_key_file=" + write("service-public.pem", service_keys.public_pem),
        "--jwt_issuer=", "--jwt_audience="};
    auto with = [&](std::vector<std::string> extra) {
      extra.insert(extra.end(), identity.begin(), identity.end());
      return extra;
    };
    start("payment", bins_["payment"], with({}));
    start("returns", bins_["returns"], with({}));
    start("rental", bins_["rental"],
          with({"--payment_address=" + addr("payment"), "--returns_address=" + addr("returns"),
                "--service_jwt_private_key_file=" +
                    write("service-private.pem", service_keys.private_pem)}));
    if (has_view_) start("view", view, with({}));

    // The gateway's channels are made once the backends serve: one made
    // while they were still starting can sit in gRPC's reconnect backoff
    // past the wait below under load (seen with gRPC 1.51).
    for (const char* svc : {"payment", "returns", "rental", "view"}) {
      if (std::string(svc) == "view" && !has_view_) continue;
      const absl::Status serving = rentmesh::testing::WaitForServing(addr(svc), absl::Seconds(30));
      ASSERT_TRUE(serving.ok()) << svc << ": " << serving << "; logs in " << dir_;
    }
    auto table = RouteTable::FromServices(
        {rentmesh::rental::v1::Book::descriptor()->file()->service(0),
         rentmesh::payment::v1::Payment::descriptor()->file()->service(0),
         rentmesh::returns::v1::Return::descriptor()->file()->service(0),
         rentmesh::view::v1::RentalSummary::descriptor()->file()->service(0)});
    routes_ = std::make_unique<RouteTable>(*std::move(table));
    caller_ = *GrpcBackendCaller::Create({{"rental", addr("rental")},
                                          {"payment", addr("payment")},
                                          {"returns", addr("returns")},
                                          {"view", addr("view")}});
    JwtVerifierConfig jwt;
    jwt.public_key_pem = keys_.public_pem;
    handler_ = std::make_unique<GatewayHandler>(GatewayOptions{}, *routes_, *caller_,
                                                *JwtVerifier::Create(jwt));
    HttpServerOptions http;
    http.port = 0;
    http.threads = 8;
    server_ = *HttpGatewayServer::Start(http, *handler_);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(15, 0);
    // Ready when /healthz says every started backend serves.
    std::string last_health = "no answer";
    for (int i = 0; i < 100; ++i) {
      auto r = client_->Get("/healthz");
      if (r) {
        last_health = r->body;
        json h = json::parse(r->body, nullptr, false);
        if (!h.is_discarded() && h["backends"]["rental"] == "SERVING" &&
            h["backends"]["payment"] == "SERVING" && h["backends"]["returns"] == "SERVING" &&
            (!has_view_ || h["backends"]["view"] == "SERVING")) {
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "backends did not become healthy (last /healthz: " << last_health << "); logs in "
           << dir_;
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    handler_.reset();
    caller_.reset();
    while (!procs_.empty()) procs_.pop_back();  // services first, nats last
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  std::string Token(const std::string& sub, const std::string& roles = "[]") {
    return testing::MintToken(
        "RS256", keys_.private_pem,
        absl::StrCat(R"({"exp":4102444800,"sub":")", sub, R"(","roles":)", roles, "}"));
  }
  struct Reply {
    int status = 0;
    json body;
    std::string raw;
  };
  Reply Do(const std::string& method, const std::string& path, const std::string& token,
           const std::string& body = "") {
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    httplib::Result r = method == "GET" ? client_->Get(path.c_str(), h)
                                        : client_->Post(path.c_str(), h, body, "application/json");
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  std::map<std::string, std::string> bins_;
  bool has_view_ = false;
  fs::path dir_;
  int nats_port_ = 0;
  std::map<std::string, int> ports_;
  std::vector<std::unique_ptr<Child>> procs_;
  testing::KeyPair keys_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<GrpcBackendCaller> caller_;
  std::unique_ptr<GatewayHandler> handler_;
  std::unique_ptr<HttpGatewayServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(RealServicesTest, RentPayReturnAndCancelThroughTheGateway) {
  const std::string lib = Token("lib-1", R"(["librarian"])");
  const std::string alice = Token("alice");
  Reply add = Do(
      "POST", "/v1/books", lib,
      R"({"bookId":"e2e-1","title":"Dune","copies":2,"dailyFee":{"currency":"KRW","amountMinor":"1500"}})");
  ASSERT_EQ(add.status, 201) << add.raw;
  EXPECT_EQ(
      Do("POST", "/v1/books/e2e-1:stock", lib, R"({"copies":1,"requestId":"st-1"})").body["copies"],
      3);
  EXPECT_EQ(Do("GET", "/v1/books/e2e-1", alice).body["title"], "Dune");
  EXPECT_EQ(Do("GET", "/v1/books?pageSize=10", alice).status, 200);
  EXPECT_EQ(Do("GET", "/v1/books/nope", alice).status, 404);

  Reply rent = Do("POST", "/v1/rentals", alice,
                  R"({"customerId":"alice","bookId":"e2e-1","days":2,"requestId":"r-1"})");
  ASSERT_EQ(rent.status, 201) << rent.raw;
  EXPECT_EQ(rent.body["status"], "RENTAL_STATUS_RENTED") << rent.raw;
  const std::string rental = rent.body["rentalId"];
  const std::string payment = rent.body["paymentId"];
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, alice).body["customerId"], "alice");
  EXPECT_EQ(Do("GET", "/v1/payments/" + payment, alice).body["status"], "PAYMENT_STATUS_APPROVED");
  EXPECT_GE(Do("GET", "/v1/rentals/" + rental + "/payments", alice).body["payments"].size(), 1u);
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental + "/return", alice).status, 404);

  Reply returned =
      Do("POST", "/v1/rentals/" + rental + ":return", alice, R"({"requestId":"ret-1"})");
  EXPECT_EQ(returned.status, 200) << returned.raw;
  EXPECT_EQ(returned.body["status"], "RENTAL_STATUS_RETURNED") << returned.raw;
  Reply ret = Do("GET", "/v1/rentals/" + rental + "/return", alice);
  EXPECT_EQ(ret.status, 200) << ret.raw;
  if (ret.status == 200) {
    EXPECT_EQ(Do("GET", "/v1/returns/" + std::string(ret.body["returnId"]), alice).status, 200);
  }

  Reply rent2 = Do("POST", "/v1/rentals", alice,
                   R"({"customerId":"alice","bookId":"e2e-1","days":1,"requestId":"r-2"})");
  ASSERT_EQ(rent2.status, 201) << rent2.raw;
  Reply cancel = Do("POST", "/v1/rentals/" + std::string(rent2.body["rentalId"]) + ":cancel", alice,
                    R"({"reason":"changed my mind","requestId":"c-1"})");
  EXPECT_EQ(cancel.body["status"], "RENTAL_STATUS_CANCELLED") << cancel.raw;

  if (has_view_) {
    EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals", alice).status, 200);
    EXPECT_EQ(Do("GET", "/v1/catalog", alice).status, 200);
    EXPECT_EQ(Do("GET", "/v1/rental-status/" + rental, alice).status, 200);
  }
}

TEST_F(RealServicesTest, ServicesEnforceTheVerifiedIdentity) {
  const std::string lib = Token("lib-1", R"(["librarian"])");
  const std::string alice = Token("alice");
  const std::string bob = Token("bob");
  EXPECT_EQ(Do("POST", "/v1/books", alice,
               R"({"bookId":"e2e-x","title":"T","copies":1,"dailyFee":{"amountMinor":"100"}})")
                .status,
            403);
  ASSERT_EQ(Do("POST", "/v1/books", lib,
               R"({"bookId":"e2e-2","title":"T","copies":2,"dailyFee":{"amountMinor":"100"}})")
                .status,
            201);
  EXPECT_EQ(
      Do("POST", "/v1/rentals", bob, R"({"customerId":"alice","bookId":"e2e-2","days":1})").status,
      403);
  Reply rent = Do("POST", "/v1/rentals", alice,
                  R"({"customerId":"alice","bookId":"e2e-2","days":1,"requestId":"q"})");
  ASSERT_EQ(rent.status, 201) << rent.raw;
  const std::string rental = rent.body["rentalId"];
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, bob).status, 403);
  EXPECT_EQ(Do("POST", "/v1/rentals/" + rental + ":cancel", bob, "{}").status, 403);
  EXPECT_EQ(Do("POST", "/v1/rentals/" + rental + ":return", bob, "{}").status, 403);
  EXPECT_EQ(Do("GET", "/v1/payments/" + std::string(rent.body["paymentId"]), bob).status, 403);
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, lib).status, 200);
  if (has_view_) {
    // Read-your-write through the view: the rental's consistency token as a query parameter.
    const std::string token = rent.body["consistencyToken"];
    const std::string q = "?consistencyToken=" + token;
    Reply mine = Do("GET", "/v1/rental-status/" + rental + q, alice);
    EXPECT_EQ(mine.status, 200) << mine.raw;
    EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals" + q, alice).body["rentals"].size(), 1u);
    EXPECT_EQ(Do("GET", "/v1/rental-status/" + rental + q, bob).status, 403);
    EXPECT_EQ(Do("GET", "/v1/customers/alice/rentals", bob).status, 403);
  }
}

// The saga's internal steps are not part of the REST API: a customer could
// otherwise refund their own fee (POST /v1/payments/{id}:refund), record a
// free return with a due date of their choosing (POST /v1/returns) or charge
// a payment that belongs to no rental (POST /v1/payments).
TEST_F(RealServicesTest, InternalSagaStepsAnswer404AtTheEdge) {
  const std::string lib = Token("lib-1", R"(["librarian"])");
  const std::string alice = Token("alice");
  ASSERT_EQ(Do("POST", "/v1/books", lib,
               R"({"bookId":"e2e-3","title":"T","copies":1,"dailyFee":{"amountMinor":"100"}})")
                .status,
            201);
  Reply rent = Do("POST", "/v1/rentals", alice,
                  R"({"customerId":"alice","bookId":"e2e-3","days":1,"requestId":"i"})");
  ASSERT_EQ(rent.status, 201) << rent.raw;
  const std::string rental = rent.body["rentalId"];
  const std::string payment = rent.body["paymentId"];
  for (const std::string& token : {alice, lib}) {
    EXPECT_EQ(Do("POST", "/v1/payments/" + payment + ":refund", token, "{}").status, 404);
    EXPECT_EQ(Do("POST", "/v1/returns", token,
                 absl::StrCat(
                     R"({"rentalId":")", rental,
                     R"(","bookId":"e2e-3","customerId":"alice","dueAt":"2030-01-01T00:00:00Z"})"))
                  .status,
              404);
    EXPECT_EQ(
        Do("POST", "/v1/payments", token,
           R"({"rentalId":"nope","customerId":"alice","amount":{"currency":"KRW","amountMinor":"1"}})")
            .status,
        404);
  }
  // Nothing happened: the payment is still approved and the rental still rented.
  EXPECT_EQ(Do("GET", "/v1/payments/" + payment, alice).body["status"], "PAYMENT_STATUS_APPROVED");
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental, alice).body["status"], "RENTAL_STATUS_RENTED");
  // The public reads of the same services still work, and rental's own calls
  // to returns (inside ReturnBook) carry its service identity.
  Reply returned = Do("POST", "/v1/rentals/" + rental + ":return", alice,
                      R"({"condition":"BOOK_CONDITION_GOOD","requestId":"ret"})");
  EXPECT_EQ(returned.status, 200) << returned.raw;
  EXPECT_EQ(Do("GET", "/v1/rentals/" + rental + "/return", alice).status, 200);
}

}  // namespace
}  // namespace rentmesh::gateway
