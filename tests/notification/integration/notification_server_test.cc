// Black-box tests of notification_server: the real binary (one or two
// replicas), a real nats-server -js with the NATS users of tools/nats_auth.sh,
// real RocksDB folders and a loopback webhook receiver, all on 127.0.0.1 with
// free ports and temp dirs. Plus the history's cross-replica de-duplication
// in process.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/outbound/channels/webhook_channel.h"
#include "adapters/outbound/nats/jetstream_notification_history.h"
#include "adapters/outbound/nats/jetstream_reminder_log.h"
#include "adapters/outbound/rocksdb/rocksdb_notification_store.h"
#include "adapters/webhook_receiver.h"
#include "core/fakes.h"
#include "core/notification_service.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/notification/v1/notification.grpc.pb.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/testing/nats_server.h"
#include "rentmesh/testing/subprocess.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::notification {
namespace {

constexpr char kSecret[] = "webhook-secret-for-tests";

// One notification_server process with its own RocksDB folder.
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
    admin_port_ = testing::PickFreePort();
    std::vector<std::string> argv = {testing::ServiceBinary("notification"),
                                     "--grpc_address=" + address_,
                                     absl::StrCat("--admin_address=127.0.0.1:", admin_port_),
                                     "--data_dir=" + data_dir_,
                                     "--trust_mesh",
                                     "--retry_initial=100ms",
                                     "--retry_max=500ms"};
    argv.insert(argv.end(), nats_flags_.begin(), nats_flags_.end());
    argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
    process_ = std::make_unique<testing::Subprocess>(argv, log_path_);
    if (absl::Status s = testing::WaitForServing(address_, absl::Seconds(20)); !s.ok()) {
      return absl::UnavailableError(absl::StrCat(s.message(), "; see ", log_path_));
    }
    stub_ = v1::NotificationService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }
  void Stop() { process_->Stop(SIGTERM); }

  grpc::Status List(const v1::ListNotificationsRequest& req, v1::ListNotificationsResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ListNotifications(&ctx, req, resp);
  }

  // grpc.health.v1 Check of `service` ("" for readiness): 1 SERVING, 2 NOT_SERVING,
  // -1 when the call fails.
  int Health(const std::string& service) {
    grpc::GenericStub stub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    // HealthCheckRequest{service}: field 1, length-delimited.
    const std::string req = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
    grpc::Slice slice(req);
    grpc::ByteBuffer request(&slice, 1), response;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    if (!status.ok()) return -1;
    std::vector<grpc::Slice> slices;
    response.Dump(&slices);
    std::string body;
    for (const grpc::Slice& sl : slices) body.append(sl.begin(), sl.end());
    // HealthCheckResponse{status}: field 1, varint (UNKNOWN = 0 is sent as nothing).
    if (body.empty()) return 0;
    return body.size() == 2 && body[0] == 0x08 ? body[1] : -1;
  }

  const std::string& address() const { return address_; }

  // Every notification of `customer`, newest first (all pages); empty on error.
  std::vector<v1::Notification> ListAll(const std::string& customer) {
    std::vector<v1::Notification> out;
    v1::ListNotificationsRequest req;
    req.set_customer_id(customer);
    req.set_page_size(100);
    do {
      v1::ListNotificationsResponse resp;
      if (!List(req, &resp).ok()) return {};
      out.insert(out.end(), resp.notifications().begin(), resp.notifications().end());
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  // A counter of /metrics with these labels (e.g. {channel="log"}); -1 when
  // it cannot be read.
  double Metric(const std::string& name, const std::string& labels) {
    httplib::Client client("127.0.0.1", admin_port_);
    httplib::Result res = client.Get("/metrics");
    if (!res || res->status != 200) return -1;
    const std::string prefix = absl::StrCat(name, labels, " ");
    for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
      if (absl::ConsumePrefix(&line, prefix)) {
        double v = 0;
        return absl::SimpleAtod(line, &v) ? v : -1;
      }
    }
    return 0;  // not incremented yet
  }

 private:
  std::vector<std::string> nats_flags_;
  std::string data_dir_, log_path_;
  std::vector<std::string> extra_flags_;
  std::string address_;
  int admin_port_ = 0;
  std::unique_ptr<testing::Subprocess> process_;
  std::unique_ptr<v1::NotificationService::Stub> stub_;
};

int Count(const std::vector<v1::Notification>& ns, const std::string& channel,
          v1::DeliveryStatus status) {
  int n = 0;
  for (const v1::Notification& x : ns) n += x.channel() == channel && x.status() == status;
  return n;
}

class NotificationServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    nats_ = std::move(*server);
    auto js = nats::JetStream::Connect(nats_->url(), "notification-test", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
    for (const char* stream : {"RENTAL", "PAYMENT", "DELIVERY"}) {
      nats::StreamSpec spec;
      spec.name = stream;
      spec.subjects = {absl::StrCat(absl::AsciiStrToLower(stream), ".>")};
      ASSERT_TRUE(js_->EnsureStream(spec).ok());
    }
    std::ofstream(dir_.Sub("secret")) << kSecret << "\n";
  }

  void TearDown() override {
    // Every call the services made was allowed to their NATS user.
    if (nats_ != nullptr) {
      EXPECT_EQ(nats_->PermissionViolations(), "");
    }
  }

  std::unique_ptr<Replica> StartReplica(absl::string_view name,
                                        std::vector<std::string> extra_flags = {}) {
    auto replica = std::make_unique<Replica>(
        nats_->ServiceFlags("notification"), dir_.Sub(absl::StrCat(name, "-data")),
        dir_.Sub(absl::StrCat(name, ".log")), std::move(extra_flags));
    absl::Status started = replica->Start();
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? std::move(replica) : nullptr;
  }

  std::vector<std::string> WebhookFlags(const WebhookReceiver& receiver) {
    return {"--webhook_url=" + receiver.url(), "--webhook_secret_file=" + dir_.Sub("secret"),
            "--webhook_timeout=2s", "--max_attempts=1000"};
  }

  // A delivery step of rental `rental_id` ("OUTBOUND" or "RETURN"), as the
  // delivery service writes it: on delivery.rental.<rental>.<kind> (or
  // `subject`), correlation id = rental id, an event id derived from the
  // delivery and the step (or `event_id`). Returns the event id.
  std::string PublishStep(const std::string& type, const std::string& rental_id,
                          const std::string& kind = "OUTBOUND", const std::string& subject = "",
                          const std::string& event_id = "") {
    const std::string lower = absl::AsciiStrToLower(kind);
    const std::string delivery_id = absl::StrCat("dlv-", lower, "-", rental_id);
    events::v1::Envelope e;
    e.set_event_id(event_id.empty() ? absl::StrCat("evt-", type, "-", delivery_id) : event_id);
    e.set_event_type(type);
    e.set_aggregate_type("delivery");
    e.set_aggregate_id(delivery_id);
    e.set_correlation_id(rental_id);
    e.set_producer("delivery");
    *e.mutable_occurred_at() = events::ToProtoTime(absl::Now());
    if (type == "DeliveryRequested") {
      auto* p = e.mutable_delivery_requested();
      p->set_delivery_id(delivery_id);
      p->set_rental_id(rental_id);
      p->set_kind(kind);
      p->set_customer_id("alice");
      p->set_book_id("dune");
      p->set_region("seoul");
    } else if (type == "DeliveryAssigned") {
      auto* p = e.mutable_delivery_assigned();
      p->set_delivery_id(delivery_id);
      p->set_rental_id(rental_id);
      p->set_kind(kind);
      p->set_courier_id("kim");
    } else if (type == "DeliveryPickedUp") {
      auto* p = e.mutable_delivery_picked_up();
      p->set_delivery_id(delivery_id);
      p->set_rental_id(rental_id);
      p->set_kind(kind);
      p->set_courier_id("kim");
    } else if (type == "DeliveryDelivered") {
      auto* p = e.mutable_delivery_delivered();
      p->set_delivery_id(delivery_id);
      p->set_rental_id(rental_id);
      p->set_kind(kind);
      p->set_courier_id("kim");
    } else if (type == "DeliveryCancelled") {
      auto* p = e.mutable_delivery_cancelled();
      p->set_delivery_id(delivery_id);
      p->set_rental_id(rental_id);
      p->set_kind(kind);
      p->set_reason("changed my mind");
    } else {
      ADD_FAILURE() << "no delivery step " << type;
    }
    const std::string on =
        subject.empty() ? absl::StrCat("delivery.rental.", rental_id, ".", lower) : subject;
    EXPECT_TRUE(js_->Publish(events::ToPublishRequest(e, on, std::nullopt)).ok()) << type;
    return e.event_id();
  }

  // Courier `courier_id` joins, as the delivery service records it.
  void PublishCourier(const std::string& courier_id, const std::string& name) {
    events::v1::Envelope e;
    e.set_event_id(absl::StrCat("evt-courier-", courier_id));
    e.set_event_type("CourierAdded");
    e.set_aggregate_type("courier");
    e.set_aggregate_id(courier_id);
    e.set_producer("delivery");
    *e.mutable_occurred_at() = events::ToProtoTime(absl::Now());
    auto* p = e.mutable_courier_added();
    p->set_courier_id(courier_id);
    p->set_region("seoul");
    p->set_name(name);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(
                                 e, absl::StrCat("delivery.courier.", courier_id), std::nullopt))
                    .ok());
  }

  // A BookRented of rental `rental_id` for `customer`, as rental writes it.
  void PublishRented(const std::string& rental_id, const std::string& customer = "alice",
                     absl::Time due_at = absl::Now() + absl::Hours(72)) {
    events::v1::Envelope e;
    e.set_event_id(absl::StrCat("evt-rented-", rental_id));
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
    p->set_book_title("Dune");
    p->set_days(3);
    *p->mutable_due_at() = events::ToProtoTime(due_at);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(e, "rental.book.dune", std::nullopt)).ok());
  }

  void PublishRefunded(const std::string& rental_id, const std::string& customer = "alice") {
    events::v1::Envelope e;
    e.set_event_id(absl::StrCat("evt-refunded-", rental_id));
    e.set_event_type("PaymentRefunded");
    e.set_aggregate_type("payment");
    e.set_aggregate_id(rental_id);
    e.set_correlation_id(rental_id);
    e.set_producer("payment");
    *e.mutable_occurred_at() = events::ToProtoTime(absl::Now());
    auto* p = e.mutable_payment_refunded();
    p->set_rental_id(rental_id);
    p->set_customer_id(customer);
    p->mutable_amount()->set_currency("KRW");
    p->mutable_amount()->set_amount_minor(3000);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(e, absl::StrCat("payment.rental.", rental_id),
                                                      std::nullopt))
                    .ok());
  }

  // The durable has delivered and settled (acked or dead-lettered) everything.
  bool DurableSettled(const std::string& stream, const std::string& durable) {
    jsConsumerInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetConsumerInfo(&info, js_->context(), stream.c_str(), durable.c_str(), nullptr,
                           &jerr) != NATS_OK) {
      return false;
    }
    const bool settled = info->NumPending == 0 && info->NumAckPending == 0;
    jsConsumerInfo_Destroy(info);
    return settled;
  }

  // Every durable of `channels` has delivered and settled everything.
  bool Settled(const std::vector<std::string>& channels, bool reminders = false) {
    std::vector<std::pair<std::string, std::string>> sources = {
        {"RENTAL", "rental"}, {"PAYMENT", "payment"}, {"DELIVERY", "delivery"}};
    if (reminders) sources.push_back({"NOTIFICATION", "due"});
    for (const std::string& c : channels) {
      for (const auto& [stream, suffix] : sources) {
        const std::string durable = absl::StrCat("notification-", c, "-", suffix);
        jsConsumerInfo* info = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        if (js_GetConsumerInfo(&info, js_->context(), stream.c_str(), durable.c_str(), nullptr,
                               &jerr) != NATS_OK) {
          return false;
        }
        const bool settled = info->NumPending == 0 && info->NumAckPending == 0;
        jsConsumerInfo_Destroy(info);
        if (!settled) return false;
      }
    }
    return true;
  }

  void PublishReturned(const std::string& rental_id, const std::string& customer = "alice") {
    events::v1::Envelope e;
    e.set_event_id(absl::StrCat("evt-returned-", rental_id));
    e.set_event_type("BookReturned");
    e.set_aggregate_type("book");
    e.set_aggregate_id("dune");
    e.set_correlation_id(rental_id);
    e.set_producer("rental");
    *e.mutable_occurred_at() = events::ToProtoTime(absl::Now());
    auto* p = e.mutable_book_returned();
    p->set_rental_id(rental_id);
    p->set_book_id("dune");
    p->set_customer_id(customer);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(e, "rental.book.dune", std::nullopt)).ok());
  }

  // Whether the NOTIFICATION stream holds a message on `subject`.
  bool StreamHas(const std::string& subject) {
    natsMsg* msg = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s =
        js_GetLastMsg(&msg, js_->context(), "NOTIFICATION", subject.c_str(), nullptr, &jerr);
    if (msg != nullptr) natsMsg_Destroy(msg);
    EXPECT_TRUE(s == NATS_OK || s == NATS_NOT_FOUND) << natsStatus_GetText(s);
    return s == NATS_OK;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<nats::JetStream> js_;
};

TEST_F(NotificationServerTest, TwoReplicasSendEveryNotificationExactlyOnce) {
  WebhookReceiver receiver;
  std::unique_ptr<Replica> a = StartReplica("a", WebhookFlags(receiver));
  std::unique_ptr<Replica> b = StartReplica("b", WebhookFlags(receiver));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRented = 30, kRefunded = 10;
  for (int i = 0; i < kRented; ++i) PublishRented(absl::StrCat("r-", i));
  for (int i = 0; i < kRefunded; ++i) PublishRefunded(absl::StrCat("r-", i));
  constexpr int kEvents = kRented + kRefunded;

  // Both replicas list the whole history, whichever of them sent what.
  for (Replica* r : {a.get(), b.get()}) {
    ASSERT_TRUE(testing::Eventually(
        [&] {
          std::vector<v1::Notification> all = r->ListAll("alice");
          return Count(all, "log", v1::DELIVERY_STATUS_SENT) == kEvents &&
                 Count(all, "webhook", v1::DELIVERY_STATUS_SENT) == kEvents;
        },
        absl::Seconds(60)));
  }
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log", "webhook"}); }));

  std::vector<WebhookReceiver::Request> got = receiver.requests();
  std::set<std::string> keys, events;
  for (WebhookReceiver::Request& req : got) {
    keys.insert(req.headers["Idempotency-Key"]);
    events.insert(req.headers["Rentmesh-Event-Id"]);
    EXPECT_EQ(req.headers["Rentmesh-Signature"], WebhookChannel::Signature(kSecret, req.body));
  }
  EXPECT_EQ(got.size(), static_cast<size_t>(kEvents)) << "a notification was sent twice";
  EXPECT_EQ(keys.size(), static_cast<size_t>(kEvents));
  EXPECT_EQ(events.size(), static_cast<size_t>(kEvents));
  const std::vector<v1::Notification> all = a->ListAll("alice");
  EXPECT_EQ(all.size(), static_cast<size_t>(2 * kEvents));
  for (const v1::Notification& n : all) EXPECT_FALSE(n.rental_id().empty());
  // What the replicas sent adds up to one send per event and channel.
  for (const std::string channel : {"log", "webhook"}) {
    const std::string labels = absl::StrCat("{channel=\"", channel, "\"}");
    EXPECT_EQ(a->Metric("rentmesh_notifications_sent_total", labels) +
                  b->Metric("rentmesh_notifications_sent_total", labels),
              kEvents)
        << channel;
  }
}

TEST_F(NotificationServerTest, AReplicaThatWasDownCatchesUpWithoutSendingAgain) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 5; ++i) PublishRented(absl::StrCat("r-", i));
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 5; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  a->Stop();
  for (int i = 5; i < 12; ++i) PublishRented(absl::StrCat("r-", i));
  PublishRefunded("r-0");

  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 13; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  std::set<std::string> events;
  for (const v1::Notification& n : a->ListAll("alice")) {
    EXPECT_EQ(n.status(), v1::DELIVERY_STATUS_SENT);
    events.insert(n.event_id());
  }
  EXPECT_EQ(events.size(), 13u);
  // Since the restart it sent only what it had missed.
  EXPECT_EQ(a->Metric("rentmesh_notifications_sent_total", "{channel=\"log\"}"), 8);
}

TEST_F(NotificationServerTest, AWebhookThatIsDownHoldsBackNeitherTheLogChannelNorItsRetries) {
  WebhookReceiver receiver;
  receiver.SetStatus(503);
  std::unique_ptr<Replica> a = StartReplica("a", WebhookFlags(receiver));
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 5; ++i) PublishRented(absl::StrCat("r-", i));

  // The log channel delivers everything while every webhook call fails.
  ASSERT_TRUE(testing::Eventually(
      [&] { return Count(a->ListAll("alice"), "log", v1::DELIVERY_STATUS_SENT) == 5; }));
  ASSERT_TRUE(testing::Eventually([&] {
    return a->Metric("rentmesh_notifications_retried_total", "{channel=\"webhook\"}") >= 5;
  }));
  EXPECT_EQ(Count(a->ListAll("alice"), "webhook", v1::DELIVERY_STATUS_SENT), 0);

  receiver.SetStatus(200);
  ASSERT_TRUE(testing::Eventually(
      [&] { return Count(a->ListAll("alice"), "webhook", v1::DELIVERY_STATUS_SENT) == 5; }));
  for (const v1::Notification& n : a->ListAll("alice")) {
    if (n.channel() == "webhook") {
      EXPECT_GT(n.attempts(), 1) << n.notification_id();
    }
  }
  // Every attempt of a notification is signed and carries the same key.
  std::map<std::string, std::set<std::string>> keys_by_event;
  for (WebhookReceiver::Request& req : receiver.requests()) {
    EXPECT_EQ(req.headers["Rentmesh-Signature"], WebhookChannel::Signature(kSecret, req.body));
    keys_by_event[req.headers["Rentmesh-Event-Id"]].insert(req.headers["Idempotency-Key"]);
  }
  EXPECT_EQ(keys_by_event.size(), 5u);
  for (const auto& [event, keys] : keys_by_event) EXPECT_EQ(keys.size(), 1u) << event;
}

TEST_F(NotificationServerTest, TwoReplicasRemindOnceOfADueDateAndOnceOfAnOverdueRental) {
  WebhookReceiver receiver;
  std::vector<std::string> flags = WebhookFlags(receiver);
  flags.insert(flags.end(), {"--due_soon_window=2h", "--due_scan_interval=100ms"});
  // Returned before its due date passed: never reminded. It comes first in
  // the stream and is due first, so a scan that reaches the others has
  // folded its return and looked at it.
  PublishRented("r-returned", "alice", absl::Now() - absl::Hours(2));
  PublishReturned("r-returned");
  PublishRented("r-soon", "alice", absl::Now() + absl::Hours(1));
  PublishRented("r-late", "alice", absl::Now() - absl::Minutes(1));
  PublishRented("r-far", "alice", absl::Now() + absl::Hours(72));
  std::unique_ptr<Replica> a = StartReplica("a", flags);
  std::unique_ptr<Replica> b = StartReplica("b", flags);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  auto reminders = [](const std::vector<v1::Notification>& all) {
    std::multiset<std::string> out;  // "<kind>/<rental>/<channel>"
    for (const v1::Notification& n : all) {
      if (n.kind() == v1::NOTIFICATION_KIND_DUE_SOON || n.kind() == v1::NOTIFICATION_KIND_OVERDUE) {
        out.insert(absl::StrCat(v1::NotificationKind_Name(n.kind()), "/", n.rental_id(), "/",
                                n.channel()));
      }
    }
    return out;
  };
  const std::multiset<std::string> want = {
      "NOTIFICATION_KIND_DUE_SOON/r-soon/log", "NOTIFICATION_KIND_DUE_SOON/r-soon/webhook",
      "NOTIFICATION_KIND_OVERDUE/r-late/log", "NOTIFICATION_KIND_OVERDUE/r-late/webhook"};
  ASSERT_TRUE(testing::Eventually([&] { return reminders(a->ListAll("alice")) == want; }));
  EXPECT_EQ(reminders(b->ListAll("alice")), want);
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log", "webhook"}, true); }));

  EXPECT_FALSE(StreamHas("notification.due.due_soon.r-returned"));
  EXPECT_FALSE(StreamHas("notification.due.overdue.r-returned"));
  EXPECT_FALSE(StreamHas("notification.due.due_soon.r-late"));
  EXPECT_FALSE(StreamHas("notification.due.due_soon.r-far"));
  std::multiset<std::string> webhook_events;
  for (WebhookReceiver::Request& req : receiver.requests()) {
    const std::string id = req.headers["Rentmesh-Event-Id"];
    if (absl::StartsWith(id, "due-soon-") || absl::StartsWith(id, "overdue-")) {
      webhook_events.insert(id);
      EXPECT_EQ(req.headers["Rentmesh-Signature"], WebhookChannel::Signature(kSecret, req.body));
    }
  }
  EXPECT_EQ(webhook_events, (std::multiset<std::string>{"due-soon-r-soon", "overdue-r-late"}));
}

TEST_F(NotificationServerTest, ServesHealthWithALivenessEntryAndItsRestRouteThroughTheGateway) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->Health(""), 1);
  EXPECT_EQ(a->Health("liveness"), 1);
  PublishRented("r-1");
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 1; }));

  // The gateway's route comes from the contract's google.api.http annotation.
  const int http_port = testing::PickFreePort();
  const std::string gateway_grpc = testing::FreeLoopbackAddress();
  std::vector<std::string> argv = {testing::ServiceBinary("gateway"),
                                   absl::StrCat("--http_address=127.0.0.1:", http_port),
                                   "--grpc_address=" + gateway_grpc,
                                   "--admin_address=" + testing::FreeLoopbackAddress(),
                                   "--notification_address=" + a->address(),
                                   "--auth_disabled"};
  for (const char* other : {"rental", "payment", "returns", "view"}) {
    argv.push_back(absl::StrCat("--", other, "_address=", testing::FreeLoopbackAddress()));
  }
  testing::Subprocess gateway(argv, dir_.Sub("gateway.log"));
  ASSERT_TRUE(testing::WaitForServing(gateway_grpc, absl::Seconds(20)).ok());
  httplib::Client http("127.0.0.1", http_port);
  std::string body;
  ASSERT_TRUE(testing::Eventually([&] {
    httplib::Result res = http.Get("/v1/customers/alice/notifications?pageSize=10");
    if (!res || res->status != 200) return false;
    body = res->body;
    return true;
  }));
  EXPECT_TRUE(absl::StrContains(body, "NOTIFICATION_KIND_RENTED")) << body;
  EXPECT_TRUE(absl::StrContains(body, "\"rentalId\":\"r-1\"")) << body;
  httplib::Result bad = http.Get("/v1/customers/alice/notifications?pageSize=1000");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
}

TEST_F(NotificationServerTest, AReminderWaitingForADownWebhookIsDroppedOnceTheBookIsReturned) {
  WebhookReceiver receiver;
  receiver.SetStatus(503);
  std::vector<std::string> flags = WebhookFlags(receiver);
  flags.insert(flags.end(), {"--due_soon_window=2h", "--due_scan_interval=100ms"});
  std::unique_ptr<Replica> a = StartReplica("a", flags);
  ASSERT_NE(a, nullptr);
  PublishRented("r-late", "alice", absl::Now() - absl::Minutes(1));
  auto overdue_tries = [&] {
    int n = 0;
    for (WebhookReceiver::Request& req : receiver.requests()) {
      n += req.headers["Rentmesh-Event-Id"] == "overdue-r-late";
    }
    return n;
  };
  // The log channel told Alice; the webhook keeps failing on it.
  ASSERT_TRUE(testing::Eventually([&] {
    std::vector<v1::Notification> all = a->ListAll("alice");
    return std::any_of(all.begin(), all.end(), [](const v1::Notification& n) {
      return n.kind() == v1::NOTIFICATION_KIND_OVERDUE && n.channel() == "log";
    });
  }));
  ASSERT_TRUE(testing::Eventually([&] { return overdue_tries() >= 1; }));

  PublishReturned("r-late");
  // With the webhook still answering 503 the reminder's durable can only
  // settle by dropping it.
  ASSERT_TRUE(testing::Eventually(
      [&] { return DurableSettled("NOTIFICATION", "notification-webhook-due"); }));
  receiver.SetStatus(200);
  ASSERT_TRUE(testing::Eventually([&] {
    return Count(a->ListAll("alice"), "webhook", v1::DELIVERY_STATUS_SENT) ==
           2;  // rented, returned
  }));
  for (const v1::Notification& n : a->ListAll("alice")) {
    EXPECT_FALSE(n.channel() == "webhook" && n.kind() == v1::NOTIFICATION_KIND_OVERDUE);
  }
  for (WebhookReceiver::Request& req : receiver.requests()) {
    if (req.headers["Rentmesh-Event-Id"] == "overdue-r-late") {
      EXPECT_EQ(req.status, 503);
    }
  }
}

TEST_F(NotificationServerTest, ListNotificationsRejectsBadInputWithInvalidArgument) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  auto code = [&](const std::string& customer, int page_size, const std::string& token) {
    v1::ListNotificationsRequest req;
    req.set_customer_id(customer);
    req.set_page_size(page_size);
    req.set_page_token(token);
    v1::ListNotificationsResponse resp;
    return a->List(req, &resp).error_code();
  };
  EXPECT_EQ(code("", 10, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code(std::string(200, 'x'), 10, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code("alice", -1, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code("alice", 1000, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code("alice", 10, "not-a-token"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code("alice", 10, ""), grpc::StatusCode::OK);
}

// "<kind>/<rental>/<channel>" of every delivery step's notification.
std::multiset<std::string> DeliverySteps(const std::vector<v1::Notification>& all) {
  std::multiset<std::string> out;
  for (const v1::Notification& n : all) {
    if (n.kind() >= v1::NOTIFICATION_KIND_DELIVERY_ASSIGNED) {
      out.insert(absl::StrCat(v1::NotificationKind_Name(n.kind()).substr(18), "/", n.rental_id(),
                              "/", n.channel()));
    }
  }
  return out;
}

// The message of the notification of `event_id` on `channel` ("" when none).
std::string MessageOf(const std::vector<v1::Notification>& all, const std::string& event_id,
                      const std::string& channel = "log") {
  for (const v1::Notification& n : all) {
    if (n.event_id() == event_id && n.channel() == channel) return n.message();
  }
  return "";
}

TEST_F(NotificationServerTest, TwoReplicasTellEveryDeliveryStepExactlyOncePerChannel) {
  WebhookReceiver receiver;
  std::unique_ptr<Replica> a = StartReplica("a", WebhookFlags(receiver));
  std::unique_ptr<Replica> b = StartReplica("b", WebhookFlags(receiver));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  PublishCourier("kim", "Kim Minsu");
  std::multiset<std::string> want;
  auto expect = [&want](const std::string& kind, const std::string& rental) {
    for (const char* channel : {"log", "webhook"}) {
      want.insert(absl::StrCat(kind, "/", rental, "/", channel));
    }
  };
  constexpr int kRentals = 6;
  for (int i = 0; i < kRentals; ++i) {
    const std::string r = absl::StrCat("r-", i);
    PublishRented(r);
    for (const char* step :
         {"DeliveryRequested", "DeliveryAssigned", "DeliveryPickedUp", "DeliveryDelivered"}) {
      PublishStep(step, r);
    }
    expect("DELIVERY_ASSIGNED", r);
    expect("DELIVERY_PICKED_UP", r);
    expect("DELIVERED", r);
    if (i % 2 == 1) continue;
    for (const char* step :
         {"DeliveryRequested", "DeliveryAssigned", "DeliveryPickedUp", "DeliveryDelivered"}) {
      PublishStep(step, r, "RETURN");
    }
    expect("RETURN_PICKUP_REQUESTED", r);
    expect("RETURN_PICKUP_ASSIGNED", r);
    expect("RETURN_PICKED_UP", r);
    expect("RETURN_DELIVERED", r);
  }
  // Cancelled while assigned.
  PublishRented("r-c");
  PublishStep("DeliveryRequested", "r-c");
  PublishStep("DeliveryAssigned", "r-c");
  PublishStep("DeliveryCancelled", "r-c");
  expect("DELIVERY_ASSIGNED", "r-c");
  expect("DELIVERY_CANCELLED", "r-c");
  // Cancelled before it was ever requested: nobody to tell.
  PublishStep("DeliveryCancelled", "r-x");
  const size_t kSteps = want.size() / 2;
  const size_t kEvents = kSteps + kRentals + 1;  // and each BookRented

  for (Replica* r : {a.get(), b.get()}) {
    ASSERT_TRUE(testing::Eventually([&] { return DeliverySteps(r->ListAll("alice")) == want; },
                                    absl::Seconds(60)))
        << "replica " << r->address();
  }
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log", "webhook"}); }));
  const std::vector<v1::Notification> all = a->ListAll("alice");
  EXPECT_EQ(DeliverySteps(all), want);
  EXPECT_EQ(all.size(), 2 * kEvents);
  for (const v1::Notification& n : all) {
    EXPECT_EQ(n.status(), v1::DELIVERY_STATUS_SENT) << n.notification_id();
    EXPECT_NE(n.rental_id(), "r-x");
  }
  EXPECT_EQ(MessageOf(all, "evt-DeliveryDelivered-dlv-outbound-r-0"),
            "Dune was delivered to you by courier Kim Minsu. Enjoy reading!");
  EXPECT_EQ(MessageOf(all, "evt-DeliveryCancelled-dlv-outbound-r-c", "webhook"),
            "The delivery of Dune is cancelled (changed my mind).");
  // The webhook got one call per event, whichever replica made it.
  std::vector<WebhookReceiver::Request> got = receiver.requests();
  std::set<std::string> events;
  for (WebhookReceiver::Request& req : got) {
    events.insert(req.headers["Rentmesh-Event-Id"]);
    EXPECT_EQ(req.headers["Rentmesh-Signature"], WebhookChannel::Signature(kSecret, req.body));
  }
  EXPECT_EQ(got.size(), kEvents) << "a notification was sent twice";
  EXPECT_EQ(events.size(), kEvents);
  for (const std::string channel : {"log", "webhook"}) {
    const std::string labels = absl::StrCat("{channel=\"", channel, "\"}");
    EXPECT_EQ(a->Metric("rentmesh_notifications_sent_total", labels) +
                  b->Metric("rentmesh_notifications_sent_total", labels),
              kEvents)
        << channel;
  }
}

TEST_F(NotificationServerTest, AReturnPickupIsToldStepByStepNamingTheCourierAndTheBook) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  PublishCourier("kim", "Kim Minsu");
  PublishRented("r-1");
  for (const char* step :
       {"DeliveryRequested", "DeliveryAssigned", "DeliveryPickedUp", "DeliveryDelivered"}) {
    PublishStep(step, "r-1");
  }
  const std::string requested = PublishStep("DeliveryRequested", "r-1", "RETURN");
  const std::string assigned = PublishStep("DeliveryAssigned", "r-1", "RETURN");
  const std::string picked_up = PublishStep("DeliveryPickedUp", "r-1", "RETURN");
  const std::string delivered = PublishStep("DeliveryDelivered", "r-1", "RETURN");
  // 1 rented, 3 outbound steps, 4 return steps.
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 8; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  const std::vector<v1::Notification> all = a->ListAll("alice");
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(
      MessageOf(all, requested),
      "Your return pickup of Dune is requested; we will tell you which courier comes for it.");
  EXPECT_EQ(MessageOf(all, assigned),
            "Courier Kim Minsu will pick up Dune from you for its return.");
  EXPECT_EQ(MessageOf(all, picked_up),
            "Courier Kim Minsu picked up Dune from you and is bringing it back to the library.");
  EXPECT_EQ(MessageOf(all, delivered),
            "Dune is back at the library, brought by courier Kim Minsu. Thank you.");
  for (const v1::Notification& n : all) {
    EXPECT_EQ(n.rental_id(), "r-1");
    EXPECT_EQ(n.book_id(), "dune");
  }
  // Newest first: the return's arrival, then its pickup.
  EXPECT_EQ(all[0].kind(), v1::NOTIFICATION_KIND_RETURN_DELIVERED);
  EXPECT_EQ(all[1].kind(), v1::NOTIFICATION_KIND_RETURN_PICKED_UP);
}

TEST_F(NotificationServerTest, ACourierSubjectIsNoCustomersNews) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  PublishCourier("kim", "Kim Minsu");
  PublishRented("r-1");
  PublishStep("DeliveryRequested", "r-1");
  // A step on the courier's subject (its own news) comes first; the same
  // step on the delivery's subject after it.
  const std::string courier_side = PublishStep("DeliveryAssigned", "r-1", "OUTBOUND",
                                               "delivery.courier.kim", "evt-courier-side");
  const std::string rental_side = PublishStep("DeliveryAssigned", "r-1");
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 2; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  const std::vector<v1::Notification> all = a->ListAll("alice");
  ASSERT_EQ(all.size(), 2u);  // rented, assigned
  EXPECT_EQ(all[0].event_id(), rental_side);
  EXPECT_EQ(MessageOf(all, courier_side), "");
  // The durable takes only the deliveries' subjects from DELIVERY.
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_GetConsumerInfo(&info, js_->context(), "DELIVERY", "notification-log-delivery",
                               nullptr, &jerr),
            NATS_OK);
  EXPECT_STREQ(info->Config->FilterSubject, "delivery.rental.>");
  jsConsumerInfo_Destroy(info);
}

TEST_F(NotificationServerTest, AReplicaThatWasDownCatchesUpOnTheDeliveryStepsItMissed) {
  std::unique_ptr<Replica> a = StartReplica("a");
  ASSERT_NE(a, nullptr);
  PublishRented("r-1");
  PublishStep("DeliveryRequested", "r-1");
  PublishStep("DeliveryAssigned", "r-1");
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 2; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  a->Stop();
  // While it is down: the courier's name, another rental, and the steps.
  PublishCourier("kim", "Kim Minsu");
  PublishRented("r-2");
  PublishStep("DeliveryPickedUp", "r-1");
  PublishStep("DeliveryDelivered", "r-1");
  PublishStep("DeliveryRequested", "r-1", "RETURN");
  PublishStep("DeliveryRequested", "r-2");
  PublishStep("DeliveryAssigned", "r-2");

  ASSERT_TRUE(a->Start().ok());
  // rented x2, assigned x2, picked up, delivered, return pickup requested.
  ASSERT_TRUE(testing::Eventually([&] { return a->ListAll("alice").size() == 7; }));
  ASSERT_TRUE(testing::Eventually([&] { return Settled({"log"}); }));
  const std::vector<v1::Notification> all = a->ListAll("alice");
  std::set<std::string> events;
  for (const v1::Notification& n : all) {
    EXPECT_EQ(n.status(), v1::DELIVERY_STATUS_SENT);
    events.insert(n.event_id());
  }
  EXPECT_EQ(events.size(), 7u);
  EXPECT_EQ(DeliverySteps(all),
            (std::multiset<std::string>{"DELIVERY_ASSIGNED/r-1/log", "DELIVERY_ASSIGNED/r-2/log",
                                        "DELIVERY_PICKED_UP/r-1/log", "DELIVERED/r-1/log",
                                        "RETURN_PICKUP_REQUESTED/r-1/log"}));
  // The courier's name was unknown at the first step (its id stood in), and
  // learnt while catching up.
  EXPECT_EQ(MessageOf(all, "evt-DeliveryAssigned-dlv-outbound-r-1"),
            "Courier kim will deliver Dune to you.");
  EXPECT_EQ(MessageOf(all, "evt-DeliveryPickedUp-dlv-outbound-r-1"),
            "Courier Kim Minsu picked up Dune and is on the way to you.");
  EXPECT_EQ(MessageOf(all, "evt-DeliveryAssigned-dlv-outbound-r-2"),
            "Courier Kim Minsu will deliver Dune to you.");
  // Since the restart it sent only what it had missed.
  EXPECT_EQ(a->Metric("rentmesh_notifications_sent_total", "{channel=\"log\"}"), 5);
}

// A replica's fold of the NOTIFICATION stream, as main wires it.
struct HistoryReplica {
  std::unique_ptr<rocksdb_store::StateStore> state;
  std::unique_ptr<RocksDbNotificationStore> store;
  std::unique_ptr<nats::StreamFollower> follower;
  std::unique_ptr<JetStreamNotificationHistory> history;
};

HistoryReplica StartHistory(nats::JetStream& js, const std::string& dir) {
  HistoryReplica r;
  auto state = rocksdb_store::StateStore::Open(dir);
  EXPECT_TRUE(state.ok()) << state.status();
  r.state = std::move(*state);
  r.store = std::make_unique<RocksDbNotificationStore>(*r.state);
  RocksDbNotificationStore* store = r.store.get();
  auto follower = nats::StreamFollower::Start(
      js, {JetStreamNotificationHistory::kStream, "notification.>", 0, 1024},
      [store](const std::vector<nats::StreamMessage>& b) { return store->Apply(b); });
  EXPECT_TRUE(follower.ok()) << follower.status();
  r.follower = std::move(*follower);
  r.history =
      std::make_unique<JetStreamNotificationHistory>(js, *r.follower, *r.store, absl::Seconds(5));
  return r;
}

TEST_F(NotificationServerTest, ADeliveryRecordedByOneReplicaIsNotSentAgainByAnother) {
  ASSERT_TRUE(js_->EnsureStream(JetStreamNotificationHistory::Stream(1)).ok());
  HistoryReplica first = StartHistory(*js_, dir_.Sub("first"));
  HistoryReplica second = StartHistory(*js_, dir_.Sub("second"));
  ManualClock clock(absl::FromUnixSeconds(1700000000));
  NotificationService a(*first.history, clock, nullptr, {});
  NotificationService b(*second.history, clock, nullptr, {});
  ScriptedChannel channel_a("webhook"), channel_b("webhook");
  Notice n;
  n.event_id = "evt-1";
  n.event_type = "BookRented";
  n.customer_id = "alice";
  n.rental_id = "r-1";

  ASSERT_TRUE(a.Deliver(n, channel_a, 1).ok());
  // The event comes again, to the other replica (say the first crashed
  // before its ack): the history already holds the delivery.
  ASSERT_TRUE(b.Deliver(n, channel_b, 2).ok());
  EXPECT_EQ(channel_a.sent.size(), 1u);
  EXPECT_TRUE(channel_b.sent.empty());
  absl::StatusOr<NotificationHistory::Page> page = b.ListNotifications("alice", 10, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->notifications.size(), 1u);
  EXPECT_EQ(page->notifications[0].notification_id, NotificationIdFor("evt-1", "webhook"));
}

TEST_F(NotificationServerTest, TheReminderLogTakesAReminderOnceWhoeverSchedulesIt) {
  ASSERT_TRUE(js_->EnsureStream(JetStreamNotificationHistory::Stream(1)).ok());
  JetStreamReminderLog log(*js_, absl::Seconds(5));
  Reminder r;
  r.reminder_id = ReminderIdFor(NotificationKind::kOverdue, "r-1");
  r.kind = NotificationKind::kOverdue;
  r.timer.rental_id = "r-1";
  r.timer.customer_id = "alice";
  r.timer.due_at = absl::FromUnixSeconds(1700000000);
  ASSERT_TRUE(log.Schedule(r).ok());
  // Again, as a replica that crashed before noting it, or the other replica.
  EXPECT_EQ(log.Schedule(r).code(), absl::StatusCode::kAlreadyExists);
  r.reminder_id = "another-id-same-subject";
  EXPECT_EQ(log.Schedule(r).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(StreamHas("notification.due.overdue.r-1"));
}

}  // namespace
}  // namespace rentmesh::notification
