// The delivery steps on their own: which DELIVERY events make a notice and
// of what kind, the RocksDB fold of the facts their events leave out, and a
// channel's durable handler putting the two together.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "adapters/inbound/nats/event_notices.h"
#include "adapters/inbound/nats/notification_consumers.h"
#include "adapters/outbound/rocksdb/rocksdb_delivery_facts.h"
#include "adapters/proto/notification_mapping.h"
#include "core/fakes.h"
#include "core/notification_service.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::notification {
namespace {

using K = NotificationKind;

events::v1::Envelope DeliveryEvent(const std::string& event_id, const std::string& rental_id) {
  events::v1::Envelope e;
  e.set_event_id(event_id);
  e.set_correlation_id(rental_id);
  e.set_producer("delivery");
  *e.mutable_occurred_at() = events::ToProtoTime(absl::FromUnixSeconds(1700000000));
  return e;
}

events::v1::Envelope Requested(const std::string& rental_id, const std::string& kind,
                               const std::string& customer = "alice") {
  events::v1::Envelope e = DeliveryEvent(absl::StrCat("evt-req-", kind, "-", rental_id), rental_id);
  e.set_event_type("DeliveryRequested");
  auto* p = e.mutable_delivery_requested();
  p->set_delivery_id(absl::StrCat("dlv-", kind, "-", rental_id));
  p->set_rental_id(rental_id);
  p->set_kind(kind);
  p->set_customer_id(customer);
  p->set_book_id("dune");
  return e;
}

events::v1::Envelope Assigned(const std::string& rental_id, const std::string& kind) {
  events::v1::Envelope e = DeliveryEvent(absl::StrCat("evt-asg-", kind, "-", rental_id), rental_id);
  e.set_event_type("DeliveryAssigned");
  auto* p = e.mutable_delivery_assigned();
  p->set_delivery_id(absl::StrCat("dlv-", kind, "-", rental_id));
  p->set_rental_id(rental_id);
  p->set_kind(kind);
  p->set_courier_id("kim");
  return e;
}

events::v1::Envelope CourierAdded(const std::string& courier_id, const std::string& name) {
  events::v1::Envelope e = DeliveryEvent(absl::StrCat("evt-courier-", courier_id), "");
  e.set_event_type("CourierAdded");
  auto* p = e.mutable_courier_added();
  p->set_courier_id(courier_id);
  p->set_region("seoul");
  p->set_name(name);
  return e;
}

events::v1::Envelope Rented(const std::string& rental_id, const std::string& title) {
  events::v1::Envelope e;
  e.set_event_id(absl::StrCat("evt-rented-", rental_id));
  e.set_event_type("BookRented");
  e.set_correlation_id(rental_id);
  e.set_producer("rental");
  auto* p = e.mutable_book_rented();
  p->set_rental_id(rental_id);
  p->set_customer_id("alice");
  p->set_book_id("dune");
  p->set_book_title(title);
  return e;
}

nats::StreamMessage On(uint64_t seq, const std::string& subject, const events::v1::Envelope& e) {
  nats::StreamMessage m;
  m.sequence = seq;
  m.subject = subject;
  m.data = e.SerializeAsString();
  return m;
}

TEST(DeliveryNoticesTest, EachStepOfADeliveryAndOfAReturnPickupHasItsKind) {
  struct Case {
    events::v1::Envelope event;
    K outbound, back;
  };
  std::vector<Case> cases;
  {
    events::v1::Envelope e = Assigned("r-1", "OUTBOUND");
    cases.push_back({e, K::kDeliveryAssigned, K::kReturnPickupAssigned});
  }
  {
    events::v1::Envelope e = DeliveryEvent("evt-pu", "r-1");
    auto* p = e.mutable_delivery_picked_up();
    p->set_delivery_id("dlv-1");
    p->set_rental_id("r-1");
    p->set_courier_id("kim");
    cases.push_back({e, K::kDeliveryPickedUp, K::kReturnPickedUp});
  }
  {
    events::v1::Envelope e = DeliveryEvent("evt-dd", "r-1");
    auto* p = e.mutable_delivery_delivered();
    p->set_delivery_id("dlv-1");
    p->set_rental_id("r-1");
    p->set_courier_id("kim");
    cases.push_back({e, K::kDelivered, K::kReturnDelivered});
  }
  {
    events::v1::Envelope e = DeliveryEvent("evt-dc", "r-1");
    auto* p = e.mutable_delivery_cancelled();
    p->set_delivery_id("dlv-1");
    p->set_rental_id("r-1");
    p->set_reason("changed my mind");
    cases.push_back({e, K::kDeliveryCancelled, K::kReturnPickupCancelled});
  }
  auto set_kind = [](events::v1::Envelope& e, const std::string& kind) {
    if (e.has_delivery_assigned()) e.mutable_delivery_assigned()->set_kind(kind);
    if (e.has_delivery_picked_up()) e.mutable_delivery_picked_up()->set_kind(kind);
    if (e.has_delivery_delivered()) e.mutable_delivery_delivered()->set_kind(kind);
    if (e.has_delivery_cancelled()) e.mutable_delivery_cancelled()->set_kind(kind);
  };
  for (Case& c : cases) {
    for (const auto& [kind, want] :
         std::vector<std::pair<std::string, K>>{{"OUTBOUND", c.outbound}, {"RETURN", c.back}}) {
      set_kind(c.event, kind);
      std::optional<Notice> n = NoticeOf(c.event);
      ASSERT_TRUE(n.has_value()) << c.event.ShortDebugString();
      EXPECT_EQ(n->kind, want) << c.event.ShortDebugString();
      EXPECT_TRUE(IsDeliveryStep(n->kind));
      EXPECT_EQ(n->event_id, c.event.event_id());
      EXPECT_EQ(n->rental_id, "r-1");
      EXPECT_FALSE(n->delivery_id.empty());
      // The customer comes from the delivery's facts.
      EXPECT_EQ(n->customer_id, "");
      EXPECT_EQ(n->occurred_at, absl::FromUnixSeconds(1700000000));
      if (c.event.has_delivery_cancelled()) {
        EXPECT_EQ(n->reason, "changed my mind");
        EXPECT_EQ(n->courier_id, "");
      } else {
        EXPECT_EQ(n->courier_id, "kim");
      }
    }
    // A delivery of a kind this service does not know is nobody's news.
    set_kind(c.event, "TELEPORT");
    EXPECT_FALSE(NoticeOf(c.event).has_value()) << c.event.ShortDebugString();
  }
}

TEST(DeliveryNoticesTest, AReturnPickupRequestIsNewsAnOutboundOneAndCouriersAreNot) {
  std::optional<Notice> n = NoticeOf(Requested("r-1", "RETURN"));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->kind, K::kReturnPickupRequested);
  EXPECT_EQ(n->customer_id, "alice");
  EXPECT_EQ(n->book_id, "dune");
  EXPECT_EQ(n->delivery_id, "dlv-RETURN-r-1");
  EXPECT_EQ(n->rental_id, "r-1");
  // BookRented told the customer already.
  EXPECT_FALSE(NoticeOf(Requested("r-1", "OUTBOUND")).has_value());
  EXPECT_FALSE(NoticeOf(CourierAdded("kim", "Kim Minsu")).has_value());
}

TEST(DeliveryNoticesTest, AddFactsFillsOnlyWhatTheEventLeftOut) {
  Notice n = *NoticeOf(Assigned("r-1", "OUTBOUND"));
  AddFacts({"alice", "dune", "Dune", "Kim Minsu"}, n);
  EXPECT_EQ(n.customer_id, "alice");
  EXPECT_EQ(n.book_id, "dune");
  EXPECT_EQ(n.book_title, "Dune");
  EXPECT_EQ(n.courier_name, "Kim Minsu");
  EXPECT_EQ(MessageFor(n), "Courier Kim Minsu will deliver Dune to you.");
  Notice requested = *NoticeOf(Requested("r-2", "RETURN", "bob"));
  AddFacts({"someone-else", "other-book", "Dune", ""}, requested);
  EXPECT_EQ(requested.customer_id, "bob");
  EXPECT_EQ(requested.book_id, "dune");
}

TEST(DeliveryNoticesTest, TheNewKindsKeepTheirWireValues) {
  const std::vector<std::pair<K, v1::NotificationKind>> kinds = {
      {K::kDeliveryAssigned, v1::NOTIFICATION_KIND_DELIVERY_ASSIGNED},
      {K::kDeliveryPickedUp, v1::NOTIFICATION_KIND_DELIVERY_PICKED_UP},
      {K::kDelivered, v1::NOTIFICATION_KIND_DELIVERED},
      {K::kDeliveryCancelled, v1::NOTIFICATION_KIND_DELIVERY_CANCELLED},
      {K::kReturnPickupRequested, v1::NOTIFICATION_KIND_RETURN_PICKUP_REQUESTED},
      {K::kReturnPickupAssigned, v1::NOTIFICATION_KIND_RETURN_PICKUP_ASSIGNED},
      {K::kReturnPickedUp, v1::NOTIFICATION_KIND_RETURN_PICKED_UP},
      {K::kReturnDelivered, v1::NOTIFICATION_KIND_RETURN_DELIVERED},
      {K::kReturnPickupCancelled, v1::NOTIFICATION_KIND_RETURN_PICKUP_CANCELLED}};
  int wire = 7;  // the first after OVERDUE = 6: added, never renumbered
  for (const auto& [kind, proto] : kinds) {
    EXPECT_EQ(ToProto(kind), proto);
    EXPECT_EQ(static_cast<int>(proto), wire++);
    EXPECT_EQ(FromProto(proto), kind);
    Notification n;
    n.kind = kind;
    v1::Notification p;
    ToProto(n, &p);
    EXPECT_EQ(FromProto(p).kind, kind);
  }
  EXPECT_EQ(v1::NOTIFICATION_KIND_OVERDUE, 6);
}

class RocksDbDeliveryFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto state = rocksdb_store::StateStore::Open(dir_.Sub("db"));
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = std::move(*state);
    facts_ = std::make_unique<RocksDbDeliveryFacts>(*state_);
  }
  testing::TempDir dir_;
  std::unique_ptr<rocksdb_store::StateStore> state_;
  std::unique_ptr<RocksDbDeliveryFacts> facts_;
};

TEST_F(RocksDbDeliveryFactsTest, FoldsRequestsTitlesAndCourierNames) {
  events::v1::Envelope forged = Requested("r-9", "OUTBOUND", "mallory");
  forged.set_producer("rental");
  ASSERT_TRUE(
      facts_
          ->ApplyDelivery({On(1, "delivery.courier.kim", CourierAdded("kim", "Kim Minsu")),
                           On(2, "delivery.rental.r-1.outbound", Requested("r-1", "OUTBOUND")),
                           On(3, "delivery.rental.r-9.outbound", forged)})
          .ok());
  ASSERT_TRUE(facts_->ApplyRental({On(7, "rental.book.dune", Rented("r-1", "Dune"))}).ok());
  EXPECT_EQ(*facts_->AppliedDeliveryPosition(), 3u);
  EXPECT_EQ(*facts_->AppliedRentalPosition(), 7u);

  auto found = facts_->Find("dlv-OUTBOUND-r-1", "r-1", "kim");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->customer_id, "alice");
  EXPECT_EQ((*found)->book_id, "dune");
  EXPECT_EQ((*found)->book_title, "Dune");
  EXPECT_EQ((*found)->courier_name, "Kim Minsu");
  // An unknown courier and no title: "" (the notice names the ids).
  found = facts_->Find("dlv-OUTBOUND-r-1", "r-2", "lee");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->book_title, "");
  EXPECT_EQ((*found)->courier_name, "");
  // Never requested (the forged request is not ours).
  EXPECT_FALSE(facts_->Find("dlv-OUTBOUND-r-9", "r-9", "")->has_value());
  EXPECT_FALSE(facts_->Find("dlv-RETURN-r-1", "r-1", "kim")->has_value());
}

TEST_F(RocksDbDeliveryFactsTest, SkipsWhatItAppliedAlready) {
  ASSERT_TRUE(facts_->ApplyRental({On(5, "rental.book.dune", Rented("r-1", "Dune"))}).ok());
  // The shared RENTAL follower starts further back (the due timers are
  // behind): what the facts applied is not applied again.
  ASSERT_TRUE(facts_
                  ->ApplyRental({On(4, "rental.book.dune", Rented("r-0", "Old")),
                                 On(5, "rental.book.dune", Rented("r-1", "Changed")),
                                 On(6, "rental.book.dune", Rented("r-2", "Solaris"))})
                  .ok());
  ASSERT_TRUE(
      facts_
          ->ApplyDelivery({On(1, "delivery.rental.r-0.outbound", Requested("r-0", "OUTBOUND")),
                           On(2, "delivery.rental.r-1.outbound", Requested("r-1", "OUTBOUND")),
                           On(3, "delivery.rental.r-2.outbound", Requested("r-2", "OUTBOUND"))})
          .ok());
  EXPECT_EQ(*facts_->AppliedRentalPosition(), 6u);
  EXPECT_EQ((*facts_->Find("dlv-OUTBOUND-r-0", "r-0", ""))->book_title, "");
  EXPECT_EQ((*facts_->Find("dlv-OUTBOUND-r-1", "r-1", ""))->book_title, "Dune");
  EXPECT_EQ((*facts_->Find("dlv-OUTBOUND-r-2", "r-2", ""))->book_title, "Solaris");
}

class HandleDeliveryStepTest : public ::testing::Test {
 protected:
  HandleDeliveryStepTest()
      : clock_(absl::FromUnixSeconds(1700000000)), service_(history_, clock_, nullptr, {}) {}

  absl::Status Handle(const nats::StreamMessage& m) {
    return HandleEvent(service_, channel_, facts_of_, nullptr, "notification-log-delivery", m);
  }

  InMemoryHistory history_;
  ManualClock clock_;
  NotificationService service_;
  ScriptedChannel channel_{"log"};
  std::vector<std::string> asked_;  // delivery ids the facts were asked for
  absl::StatusOr<std::optional<DeliveryFacts>> answer_ =
      std::optional<DeliveryFacts>(DeliveryFacts{"alice", "dune", "Dune", "Kim Minsu"});
  DeliveryFactsOf facts_of_ = [this](const Notice& step) {
    asked_.push_back(step.delivery_id);
    return answer_;
  };
};

TEST_F(HandleDeliveryStepTest, AStepIsSentToItsDeliverysCustomerWithTheFacts) {
  ASSERT_TRUE(Handle(On(1, "delivery.rental.r-1.outbound", Assigned("r-1", "OUTBOUND"))).ok());
  EXPECT_EQ(asked_, std::vector<std::string>{"dlv-OUTBOUND-r-1"});
  ASSERT_EQ(channel_.sent.size(), 1u);
  EXPECT_EQ(channel_.sent[0].message, "Courier Kim Minsu will deliver Dune to you.");
  ASSERT_EQ(history_.records.size(), 1u);
  EXPECT_EQ(history_.records[0].customer_id, "alice");
  EXPECT_EQ(history_.records[0].kind, K::kDeliveryAssigned);
  EXPECT_EQ(history_.records[0].rental_id, "r-1");
  EXPECT_EQ(history_.records[0].book_id, "dune");
  // Redelivered: sent once.
  ASSERT_TRUE(Handle(On(1, "delivery.rental.r-1.outbound", Assigned("r-1", "OUTBOUND"))).ok());
  EXPECT_EQ(channel_.sent.size(), 1u);
}

TEST_F(HandleDeliveryStepTest, AStepOfADeliveryNeverRequestedIsAckedAndSentToNobody) {
  answer_ = std::optional<DeliveryFacts>();
  EXPECT_TRUE(Handle(On(1, "delivery.rental.r-1.return", Assigned("r-1", "RETURN"))).ok());
  EXPECT_TRUE(channel_.sent.empty());
  EXPECT_TRUE(history_.records.empty());
}

TEST_F(HandleDeliveryStepTest, FactsThatCannotBeReadYetAreTriedAgainLater) {
  answer_ = absl::DeadlineExceededError("not caught up");
  absl::Status s = Handle(On(1, "delivery.rental.r-1.outbound", Assigned("r-1", "OUTBOUND")));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(channel_.sent.empty());
}

TEST_F(HandleDeliveryStepTest, EventsThatAreNoDeliveryStepNeedNoFacts) {
  // An outbound request and a courier: acked, nothing asked or sent.
  EXPECT_TRUE(Handle(On(1, "delivery.rental.r-1.outbound", Requested("r-1", "OUTBOUND"))).ok());
  EXPECT_TRUE(Handle(On(2, "delivery.courier.kim", CourierAdded("kim", "Kim Minsu"))).ok());
  // A rental event names its customer itself.
  ASSERT_TRUE(Handle(On(3, "rental.book.dune", Rented("r-1", "Dune"))).ok());
  EXPECT_TRUE(asked_.empty());
  ASSERT_EQ(channel_.sent.size(), 1u);
  EXPECT_EQ(history_.records[0].kind, K::kRented);
  // A delivery event from another producer is set aside for good.
  events::v1::Envelope forged = Assigned("r-1", "OUTBOUND");
  forged.set_producer("rental");
  EXPECT_EQ(Handle(On(4, "delivery.rental.r-1.outbound", forged)).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(channel_.sent.size(), 1u);
}

}  // namespace
}  // namespace rentmesh::notification
