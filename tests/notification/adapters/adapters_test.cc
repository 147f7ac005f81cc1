// The adapters on their own: the webhook channel against a loopback receiver,
// the event -> notice translation, and the RocksDB fold of NOTIFICATION.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/inbound/nats/event_notices.h"
#include "adapters/outbound/channels/webhook_channel.h"
#include "adapters/outbound/nats/jetstream_notification_history.h"
#include "adapters/outbound/nats/jetstream_reminder_log.h"
#include "adapters/outbound/rocksdb/rocksdb_due_timers.h"
#include "adapters/outbound/rocksdb/rocksdb_notification_store.h"
#include "adapters/proto/notification_mapping.h"
#include "adapters/webhook_receiver.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/notification/v1/notification.pb.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::notification {
namespace {

Notice SomeNotice() {
  Notice n;
  n.event_id = "evt-1";
  n.event_type = "BookRented";
  n.customer_id = "alice";
  n.rental_id = "rental-1";
  n.book_id = "dune";
  return n;
}

TEST(WebhookSignatureTest, IsHmacSha256OfTheBodyInHex) {
  // RFC 4231, test case 2.
  EXPECT_EQ(WebhookChannel::Signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookChannelTest, RejectsAUrlItCannotCall) {
  EXPECT_FALSE(WebhookChannel::Create({"https://example.com/x", "", absl::Seconds(1)}).ok());
  EXPECT_FALSE(WebhookChannel::Create({"http://:80/x", "", absl::Seconds(1)}).ok());
  EXPECT_FALSE(WebhookChannel::Create({"http://h:99999/x", "", absl::Seconds(1)}).ok());
  EXPECT_TRUE(WebhookChannel::Create({"http://h:8081/x", "", absl::Seconds(1)}).ok());
}

TEST(WebhookChannelTest, PostsTheSignedBodyWithTheIdempotencyKey) {
  WebhookReceiver receiver;
  auto channel = WebhookChannel::Create({receiver.url(), "s3cret", absl::Seconds(5)});
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE((*channel)->Send(SomeNotice(), "ntf-1", "hello").ok());
  std::vector<WebhookReceiver::Request> got = receiver.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers["Rentmesh-Signature"], WebhookChannel::Signature("s3cret", got[0].body));
  EXPECT_EQ(got[0].headers["Idempotency-Key"], "ntf-1");
  EXPECT_EQ(got[0].headers["Rentmesh-Event-Id"], "evt-1");
  nlohmann::json body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["notificationId"], "ntf-1");
  EXPECT_EQ(body["customerId"], "alice");
  EXPECT_EQ(body["rentalId"], "rental-1");
  EXPECT_EQ(body["message"], "hello");
}

TEST(WebhookChannelTest, ServerErrorsAreTransientAndRefusalsPermanent) {
  WebhookReceiver receiver;
  auto channel = WebhookChannel::Create({receiver.url(), "", absl::Seconds(5)});
  ASSERT_TRUE(channel.ok());
  receiver.SetStatus(503);
  EXPECT_EQ((*channel)->Send(SomeNotice(), "ntf-1", "m").code(), absl::StatusCode::kUnavailable);
  receiver.SetStatus(429);
  EXPECT_EQ((*channel)->Send(SomeNotice(), "ntf-1", "m").code(), absl::StatusCode::kUnavailable);
  receiver.SetStatus(410);
  EXPECT_EQ((*channel)->Send(SomeNotice(), "ntf-1", "m").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(receiver.requests()[0].headers.count("Rentmesh-Signature") == 0);
}

TEST(WebhookChannelTest, AnUnreachableReceiverIsTransient) {
  const int port = testing::PickFreePort();
  auto channel = WebhookChannel::Create(
      {"http://127.0.0.1:" + std::to_string(port) + "/hook", "", absl::Seconds(2)});
  ASSERT_TRUE(channel.ok());
  EXPECT_EQ((*channel)->Send(SomeNotice(), "ntf-1", "m").code(), absl::StatusCode::kUnavailable);
}

TEST(EventNoticesTest, NotifiesRentedReturnedCancelledAndRefundedOnly) {
  events::v1::Envelope e;
  e.set_event_id("evt-1");
  e.set_event_type("BookRented");
  e.set_correlation_id("rental-1");
  auto* rented = e.mutable_book_rented();
  rented->set_rental_id("rental-1");
  rented->set_customer_id("alice");
  rented->set_book_title("Dune");
  *rented->mutable_due_at() = events::ToProtoTime(absl::FromUnixSeconds(100));
  std::optional<Notice> n = NoticeOf(e);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->kind, NotificationKind::kRented);
  EXPECT_EQ(n->customer_id, "alice");
  EXPECT_EQ(n->rental_id, "rental-1");
  EXPECT_EQ(n->due_at, absl::FromUnixSeconds(100));

  e.mutable_payment_refunded()->set_customer_id("alice");
  e.mutable_payment_refunded()->mutable_amount()->set_amount_minor(700);
  n = NoticeOf(e);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->kind, NotificationKind::kRefunded);
  EXPECT_EQ(n->amount_minor, 700);

  e.mutable_rental_cancelled()->set_customer_id("alice");
  ASSERT_TRUE(NoticeOf(e).has_value());
  EXPECT_EQ(NoticeOf(e)->kind, NotificationKind::kCancelled);
  e.mutable_book_returned()->set_customer_id("alice");
  EXPECT_EQ(NoticeOf(e)->kind, NotificationKind::kReturned);

  e.mutable_rental_requested()->set_customer_id("alice");
  EXPECT_FALSE(NoticeOf(e).has_value());
  e.mutable_payment_approved()->set_customer_id("alice");
  EXPECT_FALSE(NoticeOf(e).has_value());
}

TEST(SubjectForTest, KeepsSafeIdsAndHexesTheRest) {
  EXPECT_EQ(JetStreamNotificationHistory::SubjectFor("alice-1_x"),
            "notification.customer.alice-1_x");
  EXPECT_EQ(JetStreamNotificationHistory::SubjectFor("a.b"), "notification.customer.x612e62");
}

nats::StreamMessage Record(uint64_t seq, const std::string& id, const std::string& customer) {
  Notification n;
  n.notification_id = id;
  n.customer_id = customer;
  n.event_id = id;
  v1::Notification p;
  ToProto(n, &p);
  nats::StreamMessage m;
  m.sequence = seq;
  m.subject = JetStreamNotificationHistory::SubjectFor(customer);
  m.data = p.SerializeAsString();
  return m;
}

class RocksDbNotificationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto state = rocksdb_store::StateStore::Open(dir_.Sub("db"));
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = std::move(*state);
    store_ = std::make_unique<RocksDbNotificationStore>(*state_);
  }
  testing::TempDir dir_;
  std::unique_ptr<rocksdb_store::StateStore> state_;
  std::unique_ptr<RocksDbNotificationStore> store_;
};

TEST_F(RocksDbNotificationStoreTest, FoldsRecordsOnceAndListsThemNewestFirstInPages) {
  ASSERT_TRUE(store_
                  ->Apply({Record(1, "n1", "alice"), Record(2, "n2", "bob"),
                           Record(3, "n3", "alice"), Record(4, "n1", "alice")})
                  .ok());
  ASSERT_TRUE(store_->Apply({Record(5, "n4", "alice"), Record(6, "n3", "alice")}).ok());
  nats::StreamMessage garbage;
  garbage.sequence = 7;
  garbage.data = "not a notification";
  ASSERT_TRUE(store_->Apply({garbage}).ok());
  EXPECT_EQ(*store_->AppliedPosition(), 7u);
  EXPECT_EQ(store_->skipped(), 3u);
  ASSERT_TRUE(store_->Get("n2")->has_value());
  EXPECT_FALSE(store_->Get("n9")->has_value());

  auto page = store_->List("alice", 2, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->notifications.size(), 2u);
  EXPECT_EQ(page->notifications[0].notification_id, "n4");
  EXPECT_EQ(page->notifications[1].notification_id, "n3");
  auto rest = store_->List("alice", 2, page->next_page_token);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->notifications.size(), 1u);
  EXPECT_EQ(rest->notifications[0].notification_id, "n1");
  EXPECT_TRUE(rest->next_page_token.empty());
}

TEST_F(RocksDbNotificationStoreTest, AForeignPageTokenIsInvalidArgument) {
  EXPECT_EQ(store_->List("alice", 2, "zzz").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List("alice", 2, "1234").status().code(), absl::StatusCode::kInvalidArgument);
}

nats::StreamMessage RentalEvent(uint64_t seq, const events::v1::Envelope& e) {
  nats::StreamMessage m;
  m.sequence = seq;
  m.subject = "rental.book.dune";
  m.data = e.SerializeAsString();
  return m;
}

events::v1::Envelope Rented(const std::string& rental_id, absl::Time due) {
  events::v1::Envelope e;
  e.set_event_id("evt-" + rental_id);
  e.set_producer("rental");
  auto* p = e.mutable_book_rented();
  p->set_rental_id(rental_id);
  p->set_customer_id("alice");
  p->set_book_id("dune");
  *p->mutable_due_at() = events::ToProtoTime(due);
  return e;
}

events::v1::Envelope Returned(const std::string& rental_id) {
  events::v1::Envelope e;
  e.set_event_id("evt-ret-" + rental_id);
  e.set_producer("rental");
  e.mutable_book_returned()->set_rental_id(rental_id);
  return e;
}

TEST_F(RocksDbNotificationStoreTest, DueTimersFollowRentalsAndTheirReminders) {
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  RocksDbDueTimers timers(*state_, absl::Hours(1));
  events::v1::Envelope forged = Rented("forged", t0);
  forged.set_producer("payment");
  ASSERT_TRUE(timers
                  .ApplyRental({RentalEvent(1, Rented("a", t0)), RentalEvent(2, Rented("b", t0)),
                                RentalEvent(3, Returned("b")), RentalEvent(4, forged),
                                RentalEvent(5, Rented("c", t0 + absl::Hours(5)))})
                  .ok());
  EXPECT_EQ(*timers.AppliedPosition(), 5u);
  auto due = timers.DueBy(t0 - absl::Hours(1), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);  // b returned, forged not ours, c later
  EXPECT_EQ((*due)[0].rental_id, "a");
  // Once "due soon" is scheduled, a comes back at its due date.
  ASSERT_TRUE(timers.MarkScheduled("a", NotificationKind::kDueSoon).ok());
  EXPECT_TRUE(timers.DueBy(t0 - absl::Minutes(1), 10)->empty());
  ASSERT_EQ(timers.DueBy(t0, 10)->size(), 1u);
  EXPECT_TRUE((*timers.DueBy(t0, 10))[0].due_soon_scheduled);
  ASSERT_TRUE(timers.MarkScheduled("a", NotificationKind::kOverdue).ok());
  EXPECT_TRUE(timers.DueBy(t0 + absl::Hours(3), 10)->empty());  // c: from t0 + 4h
  // A mark that comes before its rental (another replica is ahead) holds.
  ASSERT_TRUE(timers.MarkScheduled("d", NotificationKind::kDueSoon).ok());
  ASSERT_TRUE(timers.ApplyRental({RentalEvent(6, Rented("d", t0))}).ok());
  EXPECT_TRUE(timers.DueBy(t0 - absl::Minutes(1), 10)->empty());
  EXPECT_EQ(timers.DueBy(t0, 10)->size(), 1u);
  // The RENTAL follower it shares with the delivery facts may hand it what
  // it applied already: b stays returned.
  ASSERT_TRUE(
      timers.ApplyRental({RentalEvent(2, Rented("b", t0)), RentalEvent(6, Rented("d", t0))}).ok());
  EXPECT_FALSE(*timers.IsOpen("b"));
  EXPECT_EQ(*timers.AppliedPosition(), 6u);
}

TEST(ReminderSubjectTest, OneSubjectPerKindAndRental) {
  EXPECT_EQ(JetStreamReminderLog::SubjectFor(NotificationKind::kDueSoon, "r-1"),
            "notification.due.due_soon.r-1");
  EXPECT_EQ(JetStreamReminderLog::SubjectFor(NotificationKind::kOverdue, "r.1"),
            "notification.due.overdue.x722e31");
}

}  // namespace
}  // namespace rentmesh::notification
