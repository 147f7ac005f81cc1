// Black-box tests of returns_server: real binaries, a real nats-server -js and
// real RocksDB folders, all on 127.0.0.1 with free ports and temp dirs.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::returns {
namespace {

using google::protobuf::util::MessageDifferencer;

// One returns_server process with its own RocksDB folder.
class Replica {
 public:
  Replica(std::string nats_url, std::string data_dir, std::string log_path,
          std::vector<std::string> extra_flags = {})
      : nats_url_(std::move(nats_url)),
        data_dir_(std::move(data_dir)),
        log_path_(std::move(log_path)),
        extra_flags_(std::move(extra_flags)) {}

  absl::Status Start() {
    address_ = testing::FreeLoopbackAddress();
    std::vector<std::string> argv = {testing::ServiceBinary("returns"),
                                     "--grpc_address=" + address_,
                                     "--admin_address=" + testing::FreeLoopbackAddress(),
                                     "--nats_url=" + nats_url_,
                                     "--data_dir=" + data_dir_,
                                     "--trust_mesh"};
    argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
    process_ = std::make_unique<testing::Subprocess>(argv, log_path_);
    if (absl::Status s = testing::WaitForServing(address_, absl::Seconds(20)); !s.ok()) {
      return absl::UnavailableError(absl::StrCat(s.message(), "; see ", log_path_));
    }
    stub_ = v1::ReturnService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }
  // Graceful stop, as a rolling deploy does.
  void Stop() { process_->Stop(SIGTERM); }

  v1::ReturnService::Stub& stub() { return *stub_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string nats_url_, data_dir_, log_path_;
  std::vector<std::string> extra_flags_;
  std::string address_;
  std::unique_ptr<testing::Subprocess> process_;
  std::unique_ptr<v1::ReturnService::Stub> stub_;
};

// A client context with a deadline and optional metadata.
std::unique_ptr<grpc::ClientContext> Context(
    std::vector<std::pair<std::string, std::string>> metadata = {}) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  for (const auto& [k, v] : metadata) ctx->AddMetadata(k, v);
  return ctx;
}

v1::ProcessReturnRequest Request(const std::string& rental_id, absl::Time due_at,
                                 v1::Condition condition = v1::CONDITION_GOOD) {
  v1::ProcessReturnRequest r;
  r.set_rental_id(rental_id);
  r.set_book_id("book-1");
  r.set_customer_id("customer-1");
  *r.mutable_due_at() = events::ToProtoTime(due_at);
  r.set_condition(condition);
  return r;
}

class ReturnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
    auto js = nats::JetStream::Connect(nats_->url(), "returns-test", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
  }

  std::unique_ptr<Replica> StartReplica(absl::string_view name,
                                        std::vector<std::string> extra_flags = {}) {
    auto replica =
        std::make_unique<Replica>(nats_->url(), dir_.Sub(absl::StrCat(name, "-data")),
                                  dir_.Sub(absl::StrCat(name, ".log")), std::move(extra_flags));
    absl::Status started = replica->Start();
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? std::move(replica) : nullptr;
  }

  uint64_t LastSequence() {
    absl::StatusOr<uint64_t> last = js_->LastSequence(events::kReturnsStream);
    EXPECT_TRUE(last.ok()) << last.status();
    return last.ok() ? *last : 0;
  }

  // Every envelope of the RETURNS stream, in order.
  std::vector<events::v1::Envelope> StreamEvents() {
    absl::Mutex mu;
    std::vector<events::v1::Envelope> out;
    auto follower = nats::StreamFollower::Start(
        *js_, {events::kReturnsStream, "returns.>", 0, 1024},
        [&](const std::vector<nats::StreamMessage>& batch) {
          absl::MutexLock lock(&mu);
          for (const auto& m : batch) {
            auto env = events::ParseEnvelope(m);
            EXPECT_TRUE(env.ok()) << env.status();
            if (env.ok()) out.push_back(*env);
            EXPECT_EQ(m.subject, absl::StrCat("returns.rental.", env->correlation_id()));
          }
          return absl::OkStatus();
        });
    EXPECT_TRUE(follower.ok()) << follower.status();
    if (!follower.ok()) return {};
    EXPECT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(5)).ok());
    follower->reset();
    absl::MutexLock lock(&mu);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> js_;
};

TEST_F(ReturnsServerTest, ProcessReturnRetriedAnswersTheSameReturnAndStoresExactlyOneEvent) {
  auto replica = StartReplica("a");
  ASSERT_NE(replica, nullptr);
  const absl::Time due = absl::Now() - absl::Hours(72) + absl::Hours(1);  // 2d23h late: 3 days
  v1::Return first, again;
  auto ctx = Context({{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                      {"x-request-id", "req-42"}});
  grpc::Status st = replica->stub().ProcessReturn(ctx.get(), Request("rental-1", due), &first);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(first.return_id(), DerivedId("ret-", {"rental-1"}));
  EXPECT_EQ(first.days_overdue(), 3);
  EXPECT_EQ(first.late_fee().amount_minor(), 1500);
  EXPECT_EQ(first.late_fee().currency(), "KRW");
  EXPECT_EQ(first.damage_fee().amount_minor(), 0);
  EXPECT_EQ(first.total_fee().amount_minor(), 1500);
  EXPECT_EQ(first.condition(), v1::CONDITION_GOOD);
  EXPECT_EQ(first.version(), 1u);
  EXPECT_EQ(first.consistency_token(), "RETURNS:1");

  absl::SleepFor(absl::Milliseconds(20));
  st = replica->stub().ProcessReturn(Context().get(), Request("rental-1", due), &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(MessageDifferencer::Equals(first, again)) << again.DebugString();
  EXPECT_EQ(LastSequence(), 1u);

  std::vector<events::v1::Envelope> events = StreamEvents();
  ASSERT_EQ(events.size(), 1u);
  const events::v1::Envelope& e = events[0];
  EXPECT_EQ(e.event_type(), "ReturnCompleted");
  EXPECT_EQ(e.correlation_id(), "rental-1");
  EXPECT_EQ(e.producer(), "returns");
  EXPECT_EQ(e.aggregate_id(), first.return_id());
  EXPECT_EQ(e.aggregate_version(), 1u);
  EXPECT_EQ(e.trace().traceparent(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(e.trace().request_id(), "req-42");
  EXPECT_EQ(e.return_completed().condition(), "GOOD");
  EXPECT_EQ(e.return_completed().total_fee().amount_minor(), 1500);
  EXPECT_EQ(e.return_completed().days_overdue(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(e.return_completed().returned_at(), first.returned_at()));
}

TEST_F(ReturnsServerTest, DamagedReturnChargesTheConfiguredDamageFee) {
  auto replica = StartReplica("a", {"--damage_fee_minor=7000", "--currency=USD"});
  ASSERT_NE(replica, nullptr);
  v1::Return r;
  grpc::Status st = replica->stub().ProcessReturn(
      Context().get(), Request("rental-d", absl::Now() + absl::Hours(24), v1::CONDITION_DAMAGED),
      &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.days_overdue(), 0);
  EXPECT_EQ(r.damage_fee().amount_minor(), 7000);
  EXPECT_EQ(r.total_fee().amount_minor(), 7000);
  EXPECT_EQ(r.total_fee().currency(), "USD");
  std::vector<events::v1::Envelope> events = StreamEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].return_completed().condition(), "DAMAGED");
}

TEST_F(ReturnsServerTest, TwoReplicasRacingOnTheSameRentalsRecordOneEventEachAndAnswerTheSame) {
  auto a = StartReplica("a");
  auto b = StartReplica("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRentals = 10;
  const absl::Time due = absl::Now() - absl::Minutes(1);
  struct Answer {
    grpc::Status status;
    v1::Return reply;
  };
  std::vector<Answer> from_a(kRentals), from_b(kRentals);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRentals; ++i) {
    const std::string rental = absl::StrCat("race-", i);
    threads.emplace_back([&, i, rental] {
      from_a[i].status =
          a->stub().ProcessReturn(Context().get(), Request(rental, due), &from_a[i].reply);
    });
    threads.emplace_back([&, i, rental] {
      from_b[i].status =
          b->stub().ProcessReturn(Context().get(), Request(rental, due), &from_b[i].reply);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRentals; ++i) {
    ASSERT_TRUE(from_a[i].status.ok()) << from_a[i].status.error_message();
    ASSERT_TRUE(from_b[i].status.ok()) << from_b[i].status.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(from_a[i].reply, from_b[i].reply))
        << from_a[i].reply.DebugString() << " vs " << from_b[i].reply.DebugString();
    EXPECT_EQ(from_a[i].reply.days_overdue(), 1);
  }
  EXPECT_EQ(LastSequence(), static_cast<uint64_t>(kRentals));
  EXPECT_EQ(StreamEvents().size(), static_cast<size_t>(kRentals));
}

TEST_F(ReturnsServerTest, ReadOnReplicaBRightAfterAWriteOnReplicaAFindsIt) {
  auto a = StartReplica("a");
  auto b = StartReplica("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 5; ++i) {
    const std::string rental = absl::StrCat("rental-", i);
    v1::Return written, by_id, by_rental;
    ASSERT_TRUE(
        a->stub().ProcessReturn(Context().get(), Request(rental, absl::Now()), &written).ok());
    v1::GetReturnRequest get;
    get.set_return_id(written.return_id());
    grpc::Status st = b->stub().GetReturn(Context().get(), get, &by_id);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(written, by_id));
    v1::GetRentalReturnRequest get_rental;
    get_rental.set_rental_id(rental);
    st = b->stub().GetRentalReturn(Context().get(), get_rental, &by_rental);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(written, by_rental));
  }
}

TEST_F(ReturnsServerTest, RestartWithItsStateFolderDeletedRebuildsFromTheStreamAndAnswersTheSame) {
  auto replica = StartReplica("a");
  ASSERT_NE(replica, nullptr);
  std::vector<v1::Return> written(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        replica->stub()
            .ProcessReturn(Context().get(),
                           Request(absl::StrCat("rental-", i), absl::Now() - absl::Hours(30 * i),
                                   i == 2 ? v1::CONDITION_DAMAGED : v1::CONDITION_GOOD),
                           &written[i])
            .ok());
  }
  replica->Stop();
  std::filesystem::remove_all(replica->data_dir());
  ASSERT_TRUE(replica->Start().ok());
  for (int i = 0; i < 3; ++i) {
    v1::GetRentalReturnRequest get;
    get.set_rental_id(absl::StrCat("rental-", i));
    v1::Return after;
    grpc::Status st = replica->stub().GetRentalReturn(Context().get(), get, &after);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(written[i], after)) << after.DebugString();
    // A retry after the rebuild still answers the first inspection.
    v1::Return retried;
    grpc::Status retry = replica->stub().ProcessReturn(
        Context().get(),
        Request(absl::StrCat("rental-", i), events::FromProtoTime(written[i].due_at())), &retried);
    ASSERT_TRUE(retry.ok()) << retry.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(written[i], retried)) << retried.DebugString();
  }
  EXPECT_EQ(LastSequence(), 3u);
}

TEST_F(ReturnsServerTest, BadInputFailsWithInvalidArgumentAndLeavesTheStreamUnchanged) {
  auto replica = StartReplica("a");
  ASSERT_NE(replica, nullptr);
  v1::Return ok;
  ASSERT_TRUE(
      replica->stub().ProcessReturn(Context().get(), Request("rental-ok", absl::Now()), &ok).ok());
  const uint64_t before = LastSequence();

  std::vector<v1::ProcessReturnRequest> bad;
  bad.push_back(Request("", absl::Now()));
  bad.push_back(Request(std::string(129, 'r'), absl::Now()));
  bad.push_back(Request("rental.with.dots", absl::Now()));
  bad.push_back(Request("rental-x", absl::Now()));
  bad.back().clear_due_at();
  bad.push_back(Request("rental-x", absl::Now()));
  bad.back().set_customer_id("");
  bad.push_back(Request("rental-x", absl::Now()));
  bad.back().set_book_id(std::string(500, 'b'));
  bad.push_back(Request("rental-x", absl::Now()));
  bad.back().mutable_due_at()->set_nanos(2'000'000'000);
  bad.push_back(Request("rental-x", absl::Now(), static_cast<v1::Condition>(9)));
  for (const auto& request : bad) {
    v1::Return reply;
    grpc::Status st = replica->stub().ProcessReturn(Context().get(), request, &reply);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << request.DebugString();
    EXPECT_FALSE(st.error_message().empty());
  }
  v1::GetReturnRequest empty;
  v1::Return reply;
  EXPECT_EQ(replica->stub().GetReturn(Context().get(), empty, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(LastSequence(), before);
}

TEST_F(ReturnsServerTest, UnknownReturnIsNotFound) {
  auto replica = StartReplica("a");
  ASSERT_NE(replica, nullptr);
  v1::GetReturnRequest get;
  get.set_return_id("ret-unknown");
  v1::Return reply;
  EXPECT_EQ(replica->stub().GetReturn(Context().get(), get, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetRentalReturnRequest by_rental;
  by_rental.set_rental_id("rental-unknown");
  EXPECT_EQ(replica->stub().GetRentalReturn(Context().get(), by_rental, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// ProcessReturn is an internal saga step (rental's): no customer may record
// a return, not even their own; they may read only their own.
TEST_F(ReturnsServerTest, ACustomerMaySeeOnlyTheirOwnReturnsAndProcessNone) {
  auto replica = StartReplica("a");
  ASSERT_NE(replica, nullptr);
  v1::Return mine;
  EXPECT_EQ(replica->stub()
                .ProcessReturn(Context({{"x-rentmesh-subject", "customer-1"}}).get(),
                               Request("rental-1", absl::Now()), &mine)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(LastSequence(), 0u);
  // In the mesh, a call without identity headers is a service (rental).
  ASSERT_TRUE(
      replica->stub().ProcessReturn(Context().get(), Request("rental-1", absl::Now()), &mine).ok());
  v1::GetReturnRequest mine_get;
  mine_get.set_return_id(mine.return_id());
  v1::Return own;
  EXPECT_TRUE(
      replica->stub()
          .GetReturn(Context({{"x-rentmesh-subject", mine.customer_id()}}).get(), mine_get, &own)
          .ok());
  v1::GetReturnRequest get;
  get.set_return_id(mine.return_id());
  v1::Return reply;
  EXPECT_EQ(replica->stub()
                .GetReturn(Context({{"x-rentmesh-subject", "customer-2"}}).get(), get, &reply)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(replica->stub()
                .ProcessReturn(Context({{"x-rentmesh-subject", "customer-2"}}).get(),
                               Request("rental-2", absl::Now()), &reply)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      replica->stub()
          .GetReturn(
              Context({{"x-rentmesh-subject", "someone"}, {"x-rentmesh-roles", "librarian"}}).get(),
              get, &reply)
          .ok());
  EXPECT_EQ(LastSequence(), 1u);
}

TEST_F(ReturnsServerTest, OverloadedReplicaAnswersResourceExhaustedAtOnce) {
  auto replica = StartReplica("a", {"--workers=1", "--max_inflight=1", "--max_wait=3s"});
  ASSERT_NE(replica, nullptr);
  // With NATS gone every call holds the only worker until its publish times
  // out, so the queue fills.
  nats_->Stop();
  constexpr int kCalls = 6;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<absl::Duration> took(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::Return reply;
      absl::Time start = absl::Now();
      statuses[i] = replica->stub().ProcessReturn(
          Context().get(), Request(absl::StrCat("busy-", i), absl::Now()), &reply);
      took[i] = absl::Now() - start;
    });
  }
  for (auto& t : threads) t.join();
  int exhausted = 0;
  for (int i = 0; i < kCalls; ++i) {
    if (statuses[i].error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_LT(took[i], absl::Seconds(1));
    } else {
      EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::UNAVAILABLE)
          << statuses[i].error_message();
    }
  }
  EXPECT_GE(exhausted, 1);
}

}  // namespace
}  // namespace rentmesh::returns
