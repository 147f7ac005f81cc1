// Black-box tests of delivery_server: the real binary with the delivery NATS
// user's permissions, a real nats-server -js and real RocksDB folders, all on
// 127.0.0.1 with free ports and temp dirs.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/delivery/v1/delivery.grpc.pb.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::delivery {
namespace {

using Metadata = std::vector<std::pair<std::string, std::string>>;

const Metadata kAlice = {{"x-rentmesh-subject", "alice"}, {"x-rentmesh-roles", "customer"}};
const Metadata kBob = {{"x-rentmesh-subject", "bob"}, {"x-rentmesh-roles", "customer"}};
const Metadata kLibrarian = {{"x-rentmesh-subject", "lib"}, {"x-rentmesh-roles", "librarian"}};
Metadata CourierOf(const std::string& id) {
  return {{"x-rentmesh-subject", id}, {"x-rentmesh-roles", "courier"}};
}

std::unique_ptr<grpc::ClientContext> Context(const Metadata& metadata = {}) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  for (const auto& [k, v] : metadata) ctx->AddMetadata(k, v);
  return ctx;
}

// One delivery_server process with its own RocksDB folder.
class Replica {
 public:
  Replica(std::vector<std::string> nats_flags, std::string data_dir, std::string log_path,
          std::vector<std::string> extra_flags)
      : nats_flags_(std::move(nats_flags)),
        data_dir_(std::move(data_dir)),
        log_path_(std::move(log_path)),
        extra_flags_(std::move(extra_flags)) {}

  absl::Status Start() {
    address_ = testing::FreeLoopbackAddress();
    std::vector<std::string> argv = {testing::ServiceBinary("delivery"),
                                     "--grpc_address=" + address_,
                                     "--admin_address=" + testing::FreeLoopbackAddress(),
                                     "--data_dir=" + data_dir_,
                                     "--trust_mesh",
                                     "--retry_initial=100ms",
                                     "--retry_max=500ms",
                                     "--customer_regions=alice=seoul,bob=busan"};
    argv.insert(argv.end(), nats_flags_.begin(), nats_flags_.end());
    argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
    process_ = std::make_unique<testing::Subprocess>(argv, log_path_);
    if (absl::Status s = testing::WaitForServing(address_, absl::Seconds(20)); !s.ok()) {
      return absl::UnavailableError(absl::StrCat(s.message(), "; see ", log_path_));
    }
    stub_ = v1::DeliveryService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }
  void Stop() { process_->Stop(SIGTERM); }

  grpc::Status RentalDelivery(const std::string& rental_id, v1::Delivery* out,
                              const Metadata& who = kAlice) {
    v1::GetRentalDeliveryRequest req;
    req.set_rental_id(rental_id);
    return stub_->GetRentalDelivery(Context(who).get(), req, out);
  }
  grpc::Status PickUp(const std::string& delivery_id, const std::string& request_id,
                      const Metadata& who, v1::Delivery* out) {
    v1::PickUpDeliveryRequest req;
    req.set_delivery_id(delivery_id);
    req.set_request_id(request_id);
    return stub_->PickUpDelivery(Context(who).get(), req, out);
  }
  grpc::Status Deliver(const std::string& delivery_id, const std::string& request_id,
                       const Metadata& who, v1::Delivery* out) {
    v1::CompleteDeliveryRequest req;
    req.set_delivery_id(delivery_id);
    req.set_request_id(request_id);
    return stub_->CompleteDelivery(Context(who).get(), req, out);
  }
  // As the rental service calls it (a service the mesh let through).
  grpc::Status Cancel(const std::string& rental_id, const std::string& request_id,
                      v1::Delivery* out, const Metadata& who = {}) {
    v1::CancelDeliveryRequest req;
    req.set_rental_id(rental_id);
    req.set_reason("customer cancelled");
    req.set_request_id(request_id);
    return stub_->CancelDelivery(Context(who).get(), req, out);
  }
  grpc::Status AddCourier(const std::string& id, const std::string& region, const Metadata& who,
                          v1::Courier* out) {
    v1::AddCourierRequest req;
    req.set_courier_id(id);
    req.set_region(region);
    req.set_name(id);
    req.set_request_id("add-" + id);
    return stub_->AddCourier(Context(who).get(), req, out);
  }
  // Waits until the rental's delivery exists and has `status`.
  bool AwaitStatus(const std::string& rental_id, v1::DeliveryStatus status,
                   v1::Delivery* out = nullptr) {
    v1::Delivery d;
    bool ok = testing::Eventually([&] {
      d.Clear();
      return RentalDelivery(rental_id, &d, kLibrarian).ok() && d.status() == status;
    });
    if (out != nullptr) *out = d;
    return ok;
  }

 private:
  std::vector<std::string> nats_flags_;
  std::string data_dir_, log_path_;
  std::vector<std::string> extra_flags_;
  std::string address_;
  std::unique_ptr<testing::Subprocess> process_;
  std::unique_ptr<v1::DeliveryService::Stub> stub_;
};

class DeliveryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
    auto js = nats::JetStream::Connect(nats_->url(), "delivery-test", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
  }
  void TearDown() override {
    if (nats_ != nullptr) {
      EXPECT_EQ(nats_->PermissionViolations(), "");
    }
  }

  std::unique_ptr<Replica> StartReplica(absl::string_view name,
                                        std::vector<std::string> extra_flags = {}) {
    auto replica = std::make_unique<Replica>(
        nats_->ServiceFlags("delivery"), dir_.Sub(absl::StrCat(name, "-data")),
        dir_.Sub(absl::StrCat(name, ".log")), std::move(extra_flags));
    absl::Status started = replica->Start();
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? std::move(replica) : nullptr;
  }

  // A BookRented on RENTAL as the rental service writes it; `copies` more
  // messages carry the same event under other Nats-Msg-Ids (a redelivery
  // the server cannot drop).
  void PublishRented(const std::string& rental_id, const std::string& customer = "alice",
                     int copies = 0, const std::string& event_id = "") {
    events::v1::Envelope e;
    e.set_event_id(event_id.empty() ? absl::StrCat("evt-rented-", rental_id) : event_id);
    e.set_event_type("BookRented");
    e.set_aggregate_type("book");
    e.set_aggregate_id("dune");
    e.set_correlation_id(rental_id);
    e.set_producer("rental");
    *e.mutable_occurred_at() = events::ToProtoTime(absl::Now());
    auto* p = e.mutable_book_rented();
    p->set_rental_id(rental_id);
    p->set_book_id("dune");
    p->set_customer_id(customer);
    p->set_days(3);
    nats::PublishRequest req = events::ToPublishRequest(e, "rental.book.dune", std::nullopt);
    ASSERT_TRUE(js_->Publish(req).ok());
    for (int i = 0; i < copies; ++i) {
      req.msg_id = NewId("copy-");
      ASSERT_TRUE(js_->Publish(req).ok());
    }
  }

  // Every envelope of the DELIVERY stream, in order.
  std::vector<events::v1::Envelope> StreamEvents() {
    absl::Mutex mu;
    std::vector<events::v1::Envelope> out;
    auto follower =
        nats::StreamFollower::Start(*js_, {events::kDeliveryStream, "delivery.>", 0, 1024},
                                    [&](const std::vector<nats::StreamMessage>& batch) {
                                      absl::MutexLock lock(&mu);
                                      for (const auto& m : batch) {
                                        auto env = events::ParseEnvelope(m);
                                        EXPECT_TRUE(env.ok()) << env.status();
                                        if (env.ok()) out.push_back(*env);
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
  int CountOf(const std::string& type, const std::string& rental_id) {
    int n = 0;
    for (const events::v1::Envelope& e : StreamEvents()) {
      if (e.event_type() == type && e.correlation_id() == rental_id) ++n;
    }
    return n;
  }

  // Messages of RENTAL the durable has not acknowledged yet.
  uint64_t ConsumerPending() {
    jsConsumerInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s =
        js_GetConsumerInfo(&info, js_->context(), "RENTAL", "delivery-rental", nullptr, &jerr);
    if (s != NATS_OK) return UINT64_MAX;
    uint64_t pending = info->NumPending + static_cast<uint64_t>(info->NumAckPending);
    jsConsumerInfo_Destroy(info);
    return pending;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> js_;
};

TEST_F(DeliveryServerTest, ABookRentedCreatesExactlyOneDeliveryEvenWhenRedelivered) {
  auto a = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(a, nullptr);
  PublishRented("r-1", "alice", /*copies=*/2);
  // Another event for the same rental (a writer that bypassed the rules).
  PublishRented("r-1", "alice", 0, "evt-other");
  v1::Delivery d;
  ASSERT_TRUE(a->AwaitStatus("r-1", v1::DELIVERY_STATUS_ASSIGNED, &d));
  ASSERT_TRUE(testing::Eventually([&] { return ConsumerPending() == 0; }));
  EXPECT_EQ(d.delivery_id(), DerivedId("dlv-", {"r-1", "OUTBOUND"}));
  EXPECT_EQ(d.courier_id(), "kim");
  EXPECT_EQ(d.region(), "seoul");
  EXPECT_EQ(d.customer_id(), "alice");
  ASSERT_EQ(d.steps_size(), 2);
  EXPECT_EQ(d.steps(0).request_id(), "evt-rented-r-1");
  EXPECT_EQ(CountOf("DeliveryRequested", "r-1"), 1);
  EXPECT_EQ(CountOf("DeliveryAssigned", "r-1"), 1);
  for (const events::v1::Envelope& e : StreamEvents()) {
    EXPECT_EQ(e.producer(), "delivery");
  }
}

TEST_F(DeliveryServerTest, TheAssignedCourierPicksUpAndDeliversAndTheCancelIsThenRefused) {
  auto a = StartReplica("a", {"--couriers=kim@seoul,lee@seoul2"});
  ASSERT_NE(a, nullptr);
  PublishRented("r-2");
  v1::Delivery d;
  ASSERT_TRUE(a->AwaitStatus("r-2", v1::DELIVERY_STATUS_ASSIGNED, &d));
  v1::Delivery out;
  EXPECT_EQ(a->PickUp(d.delivery_id(), "p-1", kAlice, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(a->PickUp(d.delivery_id(), "p-1", CourierOf("lee"), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(a->PickUp(d.delivery_id(), "", CourierOf("kim"), &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(a->PickUp("dlv-nope", "p-1", CourierOf("kim"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status st = a->PickUp(d.delivery_id(), "p-1", CourierOf("kim"), &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), v1::DELIVERY_STATUS_PICKED_UP);
  // A retry with the same request id answers the same delivery.
  v1::Delivery again;
  st = a->PickUp(d.delivery_id(), "p-1", CourierOf("kim"), &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(again.version(), out.version());

  st = a->Cancel("r-2", "c-1", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  st = a->Deliver(d.delivery_id(), "d-1", CourierOf("kim"), &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), v1::DELIVERY_STATUS_DELIVERED);
  ASSERT_EQ(out.steps_size(), 4);
  EXPECT_EQ(out.steps(3).courier_id(), "kim");
  // The customer sees it, another customer does not.
  EXPECT_TRUE(a->RentalDelivery("r-2", &out, kAlice).ok());
  EXPECT_EQ(a->RentalDelivery("r-2", &out, kBob).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountOf("DeliveryPickedUp", "r-2"), 1);
  EXPECT_EQ(CountOf("DeliveryDelivered", "r-2"), 1);
}

TEST_F(DeliveryServerTest, ACancelBeforeTheBookRentedIsHandledLeavesNoDeliveryToMake) {
  auto a = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(a, nullptr);
  v1::Delivery out;
  // Customers cancel through the rental service only.
  EXPECT_EQ(a->Cancel("r-3", "c-1", &out, kAlice).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status st = a->Cancel("r-3", "c-1", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), v1::DELIVERY_STATUS_CANCELLED);
  PublishRented("r-3");
  ASSERT_TRUE(testing::Eventually([&] { return ConsumerPending() == 0; }));
  ASSERT_TRUE(a->AwaitStatus("r-3", v1::DELIVERY_STATUS_CANCELLED));
  EXPECT_EQ(CountOf("DeliveryRequested", "r-3"), 0);
  // Cancelling again answers the cancelled delivery.
  st = a->Cancel("r-3", "c-2", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(CountOf("DeliveryCancelled", "r-3"), 1);
}

TEST_F(DeliveryServerTest, ADeliveryWaitsForACourierOfItsRegionUntilALibrarianAddsOne) {
  auto a = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(a, nullptr);
  PublishRented("r-4", "bob");  // bob lives in busan
  ASSERT_TRUE(a->AwaitStatus("r-4", v1::DELIVERY_STATUS_REQUESTED));
  v1::Courier c;
  EXPECT_EQ(a->AddCourier("park", "busan", kBob, &c).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(a->AddCourier("park", "Bad Region", kLibrarian, &c).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status st = a->AddCourier("park", "busan", kLibrarian, &c);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::Delivery d;
  ASSERT_TRUE(a->AwaitStatus("r-4", v1::DELIVERY_STATUS_ASSIGNED, &d));
  EXPECT_EQ(d.courier_id(), "park");
  EXPECT_EQ(a->AddCourier("park", "seoul", kLibrarian, &c).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(DeliveryServerTest, ARestartKeepsTheStateAndAnEmptyFolderRebuildsIt) {
  auto a = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(a, nullptr);
  PublishRented("r-5");
  v1::Delivery before;
  ASSERT_TRUE(a->AwaitStatus("r-5", v1::DELIVERY_STATUS_ASSIGNED, &before));
  v1::Delivery out;
  ASSERT_TRUE(a->PickUp(before.delivery_id(), "p-1", CourierOf("kim"), &out).ok());
  a->Stop();
  a.reset();
  auto again = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(again, nullptr);
  v1::Delivery after;
  ASSERT_TRUE(again->AwaitStatus("r-5", v1::DELIVERY_STATUS_PICKED_UP, &after));
  EXPECT_EQ(after.version(), 3u);
  // The configured courier was not added twice.
  EXPECT_EQ(CountOf("CourierAdded", ""), 1);
  again->Stop();
  auto fresh = StartReplica("b", {"--couriers=kim@seoul"});
  ASSERT_NE(fresh, nullptr);
  v1::Delivery rebuilt;
  ASSERT_TRUE(fresh->AwaitStatus("r-5", v1::DELIVERY_STATUS_PICKED_UP, &rebuilt));
  EXPECT_EQ(rebuilt.steps_size(), 3);
  EXPECT_EQ(rebuilt.consistency_token(), after.consistency_token());
}

TEST_F(DeliveryServerTest, AMessageThatIsNotOursIsSetAsideAndBlocksNothing) {
  auto a = StartReplica("a", {"--couriers=kim@seoul"});
  ASSERT_NE(a, nullptr);
  nats::PublishRequest garbage;
  garbage.subject = "rental.book.dune";
  garbage.data = "not an envelope";
  ASSERT_TRUE(js_->Publish(garbage).ok());
  PublishRented("r-6");
  ASSERT_TRUE(a->AwaitStatus("r-6", v1::DELIVERY_STATUS_ASSIGNED));
  v1::Delivery out;
  EXPECT_EQ(a->RentalDelivery("bad.id", &out, kAlice).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace rentmesh::delivery
