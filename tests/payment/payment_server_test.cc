// The payment_server binary, black box: flags, health, overload, shutdown.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "integration/payment_test_support.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::payment::testing {
namespace {

class PaymentServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = rentmesh::testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
  }

  void StartBinary(std::vector<std::string> extra) {
    address_ = rentmesh::testing::FreeLoopbackAddress();
    admin_address_ = rentmesh::testing::FreeLoopbackAddress();
    std::vector<std::string> argv = {
        rentmesh::testing::ServiceBinary("payment"), "--grpc_address=" + address_,
        "--admin_address=" + admin_address_, "--nats_url=" + nats_->url(),
        "--data_dir=" + dir_.Sub("data")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<rentmesh::testing::Subprocess>(argv, dir_.Sub("payment.log"));
    absl::Status serving = rentmesh::testing::WaitForServing(address_, absl::Seconds(20));
    ASSERT_TRUE(serving.ok()) << serving << "\n" << Log();
    stub_ = v1::PaymentService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

  std::string Log() const {
    std::ifstream in(dir_.Sub("payment.log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // An admin HTTP call: {status, body}; status 0 when it could not connect.
  std::pair<int, std::string> Admin(const std::string& method, const std::string& path) {
    const size_t colon = admin_address_.rfind(':');
    httplib::Client client(admin_address_.substr(0, colon),
                           std::stoi(admin_address_.substr(colon + 1)));
    client.set_read_timeout(10, 0);
    httplib::Result res = method == "POST" ? client.Post(path) : client.Get(path);
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  rentmesh::testing::TempDir dir_;
  std::unique_ptr<rentmesh::testing::NatsServer> nats_;
  std::unique_ptr<rentmesh::testing::Subprocess> process_;
  std::string address_;
  std::string admin_address_;
  std::unique_ptr<v1::PaymentService::Stub> stub_;
};

TEST_F(PaymentServerTest, FloodedServerAnswersResourceExhaustedForTheExcessAndKeepsServing) {
  StartBinary({"--workers=1", "--max_inflight=2"});
  constexpr int kCalls = 64;
  struct Slot {
    grpc::ClientContext ctx;
    v1::PayRequest req;
    v1::Payment resp;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  absl::Mutex mu;
  int done = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    slot->req = PayRequestFor(absl::StrCat("rent-flood-", i), 100 + i);
    slots.push_back(std::move(slot));
  }
  for (auto& s : slots) {
    Slot* p = s.get();
    stub_->async()->Pay(&p->ctx, &p->req, &p->resp, [&mu, &done, p](grpc::Status st) {
      absl::MutexLock lock(&mu);
      p->status = std::move(st);
      ++done;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all_done = [&done]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done == kCalls; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(20)));
  }
  int ok = 0, exhausted = 0;
  for (const auto& s : slots) {
    if (s->status.ok()) {
      ++ok;
      EXPECT_EQ(s->resp.status(), v1::PAYMENT_STATUS_APPROVED);
    } else {
      EXPECT_EQ(s->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << s->status.error_message();
      if (s->status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        EXPECT_EQ(s->status.error_message(), "payment is overloaded; retry shortly");
        ++exhausted;
      }
    }
  }
  EXPECT_GT(exhausted, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(ok + exhausted, kCalls);

  // Still serving, and what was approved is exactly what was written.
  EXPECT_TRUE(process_->Running());
  EXPECT_TRUE(rentmesh::testing::WaitForServing(address_, absl::Seconds(2)).ok());
  Call after = Pay(*stub_, PayRequestFor("rent-after-flood", 100));
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  auto js = nats::JetStream::Connect(nats_->url(), "check", absl::Seconds(5));
  ASSERT_TRUE(js.ok());
  EXPECT_EQ(*(*js)->LastSequence(events::kPaymentStream), static_cast<uint64_t>(ok + 1));
}

TEST_F(PaymentServerTest, ServerLogsWhereItListensAndStopsCleanlyOnSigterm) {
  StartBinary({});
  ASSERT_TRUE(Pay(*stub_, PayRequestFor("rent-1", 100)).status.ok());
  EXPECT_NE(Log().find(absl::StrCat("\"grpc\":\"", address_, "\"")), std::string::npos) << Log();
  // An idle client connection would hold the graceful shutdown until its grace
  // period ends; close ours so the test measures the server alone.
  stub_.reset();
  int status = process_->Stop(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(WIFEXITED(status)) << Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << Log();
  // Restarted on the same folder, it answers the same.
  StartBinary({});
  Call retry = Pay(*stub_, PayRequestFor("rent-1", 100));
  EXPECT_TRUE(retry.status.ok()) << retry.status.error_message();
  EXPECT_EQ(retry.payment.consistency_token(), "PAYMENT:1");
}

TEST_F(PaymentServerTest, ServerRefusesAnInvalidConfiguration) {
  rentmesh::testing::Subprocess bad(
      {rentmesh::testing::ServiceBinary("payment"),
       "--grpc_address=" + rentmesh::testing::FreeLoopbackAddress(), "--nats_url=" + nats_->url(),
       "--data_dir=" + dir_.Sub("d"), "--workers=0"},
      dir_.Sub("bad.log"));
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (bad.Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(bad.Running());
  std::ifstream in(dir_.Sub("bad.log"));
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("--workers must be 1..1024"), std::string::npos) << ss.str();
}

TEST_F(PaymentServerTest, AFullPaymentStreamAnswersUnavailableAndIsNotReadyWhileItLasts) {
  StartBinary({"--stream_max_msgs=2", "--reactions=false"});
  ASSERT_TRUE(Pay(*stub_, PayRequestFor("rent-full-1", 100)).status.ok());
  ASSERT_TRUE(Pay(*stub_, PayRequestFor("rent-full-2", 100)).status.ok());
  EXPECT_EQ(Admin("GET", "/healthz").first, 200);
  Call full = Pay(*stub_, PayRequestFor("rent-full-3", 100));
  EXPECT_EQ(full.status.error_code(), grpc::StatusCode::UNAVAILABLE) << full.status.error_message();
  EXPECT_NE(full.status.error_message().find("stream full"), std::string::npos)
      << full.status.error_message();
  auto [code, body] = Admin("GET", "/healthz");
  EXPECT_EQ(code, 503);
  EXPECT_NE(body.find("store full"), std::string::npos) << body;
  EXPECT_NE(Admin("GET", "/metrics").second.find("rentmesh_stream_store_full{scope=\"payment\"} 1"),
            std::string::npos);
  // The operator raises the limit by hand: the next event is stored, ready again,
  // and a restart keeps the operator's limit.
  auto js = nats::JetStream::Connect(nats_->url(), "operator", absl::Seconds(5));
  ASSERT_TRUE(js.ok());
  nats::StreamSpec raised = PaymentStreamSpec(1);
  raised.max_msgs = 100;
  ASSERT_TRUE((*js)->EnsureStream(raised).ok());
  ASSERT_TRUE(Pay(*stub_, PayRequestFor("rent-full-3", 100)).status.ok());
  EXPECT_EQ(Admin("GET", "/healthz").first, 200);
}

TEST_F(PaymentServerTest, DeadLettersAreListedAndReplayedOverTheAdminPort) {
  StartBinary({});
  auto js = nats::JetStream::Connect(nats_->url(), "rental", absl::Seconds(5));
  ASSERT_TRUE(js.ok());
  nats::PublishRequest junk;
  junk.subject = "rental.book.X";
  junk.data = "not an envelope";
  ASSERT_TRUE((*js)->Publish(junk).ok());
  std::string listed;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto [code, body] = Admin("GET", "/admin/deadletters");
        listed = body;
        return code == 200 && body.find("\"seq\":1") != std::string::npos;
      },
      absl::Seconds(15)))
      << listed << Log();
  EXPECT_NE(listed.find("\"subject\":\"rental.book.X\""), std::string::npos) << listed;
  EXPECT_NE(listed.find("\"consumer\":\"payment-reactions\""), std::string::npos) << listed;
  // Still garbage: the replay answers the handler's error and keeps the dead letter.
  EXPECT_EQ(Admin("POST", "/admin/deadletters/replay?seq=1").first, 400);
  EXPECT_NE(Admin("GET", "/admin/deadletters").second.find("\"seq\":1"), std::string::npos);
  EXPECT_EQ(Admin("POST", "/admin/deadletters/replay?seq=99").first, 404);
  EXPECT_EQ(Admin("POST", "/admin/deadletters/replay?seq=abc").first, 400);
  EXPECT_NE(Admin("GET", "/metrics")
                .second.find("rentmesh_events_untrusted_total{consumer=\"payment-reactions\"} 2"),
            std::string::npos);
}

}  // namespace
}  // namespace rentmesh::payment::testing
