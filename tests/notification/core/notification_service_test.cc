// The notification use cases against in-memory fakes of their ports.
#include "core/notification_service.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "core/fakes.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::notification {
namespace {

Notice Rented(std::string event_id, std::string customer = "alice") {
  Notice n;
  n.event_id = std::move(event_id);
  n.event_type = "BookRented";
  n.kind = NotificationKind::kRented;
  n.customer_id = std::move(customer);
  n.rental_id = "rental-1";
  n.book_id = "dune";
  n.book_title = "Dune";
  n.due_at = absl::FromUnixSeconds(1700000000);
  n.amount_minor = 3000;
  n.currency = "KRW";
  return n;
}

class NotificationServiceTest : public ::testing::Test {
 protected:
  NotificationServiceTest()
      : clock_(absl::FromUnixSeconds(1600000000)),
        service_(history_, clock_, &observer_, Options()) {}
  static NotificationService::Options Options() {
    NotificationService::Options o;
    o.max_attempts = 3;
    return o;
  }

  InMemoryHistory history_;
  ManualClock clock_;
  CountingObserver observer_;
  NotificationService service_;
  ScriptedChannel log_{"log"};
  ScriptedChannel webhook_{"webhook"};
};

TEST_F(NotificationServiceTest, DeliverSendsAndRecordsTheNotificationAsSent) {
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), log_, 1).ok());
  ASSERT_EQ(log_.sent.size(), 1u);
  EXPECT_EQ(log_.sent[0].notification_id, NotificationIdFor("e-1", "log"));
  ASSERT_EQ(history_.records.size(), 1u);
  const Notification& n = history_.records[0];
  EXPECT_EQ(n.status, DeliveryStatus::kSent);
  EXPECT_EQ(n.channel, "log");
  EXPECT_EQ(n.customer_id, "alice");
  EXPECT_EQ(n.rental_id, "rental-1");
  EXPECT_EQ(n.event_id, "e-1");
  EXPECT_EQ(n.attempts, 1);
  EXPECT_EQ(n.recorded_at, clock_.Now());
  EXPECT_TRUE(absl::StrContains(n.message, "Dune")) << n.message;
  EXPECT_EQ(observer_.sent["log"], 1);
}

TEST_F(NotificationServiceTest, ARedeliveredEventIsNotSentAgain) {
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), log_, 1).ok());
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), log_, 2).ok());
  EXPECT_EQ(log_.sent.size(), 1u);
  EXPECT_EQ(history_.records.size(), 1u);
  EXPECT_EQ(observer_.duplicates["log"], 1);
}

TEST_F(NotificationServiceTest, EachChannelDeliversTheSameEventOnce) {
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), log_, 1).ok());
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), webhook_, 1).ok());
  EXPECT_EQ(log_.sent.size(), 1u);
  EXPECT_EQ(webhook_.sent.size(), 1u);
  EXPECT_NE(log_.sent[0].notification_id, webhook_.sent[0].notification_id);
  EXPECT_EQ(history_.records.size(), 2u);
}

TEST_F(NotificationServiceTest, ATransientChannelFailureIsRetriedWithTheSameId) {
  webhook_.script = {absl::UnavailableError("down")};
  absl::Status first = service_.Deliver(Rented("e-1"), webhook_, 1);
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_TRUE(history_.records.empty());
  EXPECT_EQ(observer_.retried["webhook"], 1);
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), webhook_, 2).ok());
  ASSERT_EQ(webhook_.sent.size(), 2u);
  EXPECT_EQ(webhook_.sent[0].notification_id, webhook_.sent[1].notification_id);
  ASSERT_EQ(history_.records.size(), 1u);
  EXPECT_EQ(history_.records[0].status, DeliveryStatus::kSent);
  EXPECT_EQ(history_.records[0].attempts, 2);
}

TEST_F(NotificationServiceTest, TheLastFailedAttemptIsRecordedAsFailed) {
  webhook_.script = {absl::UnavailableError("down"), absl::UnavailableError("down"),
                     absl::UnavailableError("still down")};
  EXPECT_FALSE(service_.Deliver(Rented("e-1"), webhook_, 1).ok());
  EXPECT_FALSE(service_.Deliver(Rented("e-1"), webhook_, 2).ok());
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), webhook_, 3).ok());
  ASSERT_EQ(history_.records.size(), 1u);
  EXPECT_EQ(history_.records[0].status, DeliveryStatus::kFailed);
  EXPECT_EQ(history_.records[0].error, "still down");
  EXPECT_EQ(observer_.failed["webhook"], 1);
  EXPECT_EQ(observer_.retried["webhook"], 2);
}

TEST_F(NotificationServiceTest, APermanentRefusalIsRecordedAsFailedAtOnce) {
  webhook_.script = {absl::FailedPreconditionError("webhook refused it with 410")};
  ASSERT_TRUE(service_.Deliver(Rented("e-1"), webhook_, 1).ok());
  ASSERT_EQ(history_.records.size(), 1u);
  EXPECT_EQ(history_.records[0].status, DeliveryStatus::kFailed);
  EXPECT_EQ(observer_.retried["webhook"], 0);
}

TEST_F(NotificationServiceTest, AHistoryThatCannotBeReadSendsNothing) {
  history_.find_error = absl::UnavailableError("NATS down");
  absl::Status s = service_.Deliver(Rented("e-1"), log_, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(log_.sent.empty());
}

TEST_F(NotificationServiceTest, ARecordThatCannotBeStoredIsTransient) {
  history_.record_error = absl::UnavailableError("NATS down");
  absl::Status s = service_.Deliver(Rented("e-1"), log_, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(observer_.sent["log"], 0);
}

TEST_F(NotificationServiceTest, ANoticeWithoutCustomerOrEventIsInvalid) {
  EXPECT_EQ(service_.Deliver(Rented("e-1", ""), log_, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Deliver(Rented(""), log_, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(log_.sent.empty());
}

TEST_F(NotificationServiceTest, ListNotificationsRejectsBadInputWithInvalidArgument) {
  EXPECT_EQ(service_.ListNotifications("", 10, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListNotifications(std::string(129, 'a'), 10, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListNotifications("al\nice", 10, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListNotifications("alice", -1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListNotifications("alice", 101, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationServiceTest, ListNotificationsPagesTheCustomersOwnNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(service_.Deliver(Rented(absl::StrCat("e-", i)), log_, 1).ok());
  }
  ASSERT_TRUE(service_.Deliver(Rented("e-bob", "bob"), log_, 1).ok());
  absl::StatusOr<NotificationHistory::Page> first = service_.ListNotifications("alice", 3, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->notifications.size(), 3u);
  EXPECT_EQ(first->notifications[0].event_id, "e-4");
  ASSERT_FALSE(first->next_page_token.empty());
  absl::StatusOr<NotificationHistory::Page> second =
      service_.ListNotifications("alice", 3, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->notifications.size(), 2u);
  EXPECT_EQ(second->notifications[1].event_id, "e-0");
  EXPECT_TRUE(second->next_page_token.empty());
}

TEST(MessageForTest, SaysWhatHappenedToWhichBook) {
  Notice n = Rented("e-1");
  EXPECT_EQ(MessageFor(n), "You rented Dune; it is due on 2023-11-14 22:13 UTC (paid 3000 KRW).");
  n.kind = NotificationKind::kReturned;
  n.amount_minor = 500;
  EXPECT_EQ(MessageFor(n), "You returned Dune; a late fee of 500 KRW is charged.");
  n.kind = NotificationKind::kRefunded;
  EXPECT_EQ(MessageFor(n), "Your payment of 500 KRW for rental rental-1 was refunded.");
}

Notice Step(NotificationKind kind) {
  Notice n;
  n.event_id = "evt-step";
  n.kind = kind;
  n.customer_id = "alice";
  n.rental_id = "rental-1";
  n.book_id = "dune";
  n.book_title = "Dune";
  n.delivery_id = "dlv-1";
  n.courier_id = "kim";
  n.courier_name = "Kim Minsu";
  return n;
}

TEST(MessageForTest, NamesTheCourierAndTheBookOfEveryDeliveryStep) {
  using K = NotificationKind;
  EXPECT_EQ(MessageFor(Step(K::kDeliveryAssigned)), "Courier Kim Minsu will deliver Dune to you.");
  EXPECT_EQ(MessageFor(Step(K::kDeliveryPickedUp)),
            "Courier Kim Minsu picked up Dune and is on the way to you.");
  EXPECT_EQ(MessageFor(Step(K::kDelivered)),
            "Dune was delivered to you by courier Kim Minsu. Enjoy reading!");
  EXPECT_EQ(MessageFor(Step(K::kDeliveryCancelled)), "The delivery of Dune is cancelled.");
  EXPECT_EQ(
      MessageFor(Step(K::kReturnPickupRequested)),
      "Your return pickup of Dune is requested; we will tell you which courier comes for it.");
  EXPECT_EQ(MessageFor(Step(K::kReturnPickupAssigned)),
            "Courier Kim Minsu will pick up Dune from you for its return.");
  EXPECT_EQ(MessageFor(Step(K::kReturnPickedUp)),
            "Courier Kim Minsu picked up Dune from you and is bringing it back to the library.");
  EXPECT_EQ(MessageFor(Step(K::kReturnDelivered)),
            "Dune is back at the library, brought by courier Kim Minsu. Thank you.");
  Notice cancelled = Step(K::kReturnPickupCancelled);
  cancelled.reason = "not at home";
  EXPECT_EQ(MessageFor(cancelled), "The return pickup of Dune is cancelled (not at home).");
}

TEST(MessageForTest, FallsBackToTheCourierIdAndTheBookId) {
  Notice n = Step(NotificationKind::kDeliveryPickedUp);
  n.courier_name = "";
  n.book_title = "";
  EXPECT_EQ(MessageFor(n), "Courier kim picked up dune and is on the way to you.");
  n.courier_id = "";
  EXPECT_EQ(MessageFor(n), "Your courier picked up dune and is on the way to you.");
  n.kind = NotificationKind::kDelivered;
  EXPECT_EQ(MessageFor(n), "dune was delivered to you by your courier. Enjoy reading!");
}

TEST(KindNameTest, DeliveryStepsHaveTheirOwnKinds) {
  using K = NotificationKind;
  const std::vector<std::pair<K, std::string>> steps = {
      {K::kDeliveryAssigned, "DELIVERY_ASSIGNED"},
      {K::kDeliveryPickedUp, "DELIVERY_PICKED_UP"},
      {K::kDelivered, "DELIVERED"},
      {K::kDeliveryCancelled, "DELIVERY_CANCELLED"},
      {K::kReturnPickupRequested, "RETURN_PICKUP_REQUESTED"},
      {K::kReturnPickupAssigned, "RETURN_PICKUP_ASSIGNED"},
      {K::kReturnPickedUp, "RETURN_PICKED_UP"},
      {K::kReturnDelivered, "RETURN_DELIVERED"},
      {K::kReturnPickupCancelled, "RETURN_PICKUP_CANCELLED"}};
  for (const auto& [kind, name] : steps) {
    EXPECT_EQ(KindName(kind), name);
    EXPECT_TRUE(IsDeliveryStep(kind)) << name;
    EXPECT_FALSE(MessageFor(Step(kind)).empty()) << name;
  }
  for (K kind : {K::kRented, K::kReturned, K::kCancelled, K::kRefunded, K::kDueSoon, K::kOverdue}) {
    EXPECT_FALSE(IsDeliveryStep(kind)) << KindName(kind);
  }
}

}  // namespace
}  // namespace rentmesh::notification
