#include <gtest/gtest.h>

#include "core/domain/delivery.h"

namespace rentmesh::delivery {
namespace {

using Type = DeliveryEvent::Type;

DeliveryEvent Event(Type type, std::string courier = "") {
  DeliveryEvent e;
  e.type = type;
  e.delivery_id = "dlv-1";
  e.rental_id = "rnt-1";
  e.customer_id = "alice";
  e.book_id = "dune";
  e.region = "seoul";
  e.courier_id = std::move(courier);
  e.request_id = "req";
  e.at = absl::FromUnixSeconds(1000);
  return e;
}

TEST(DeliveryDomainTest, TheWholeLifecycleRecordsEveryStepInOrder) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kRequested), 1);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->status, DeliveryStatus::kRequested);
  EXPECT_EQ(d->region, "seoul");
  d = Apply(*d, Event(Type::kAssigned, "kim"), 2);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->courier_id, "kim");
  d = Apply(*d, Event(Type::kPickedUp, "kim"), 3);
  ASSERT_TRUE(d.ok()) << d.status();
  d = Apply(*d, Event(Type::kDelivered, "kim"), 4);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d->version, 4u);
  EXPECT_EQ(d->sequence, 4u);
  ASSERT_EQ(d->steps.size(), 4u);
  EXPECT_EQ(d->steps[0].status, DeliveryStatus::kRequested);
  EXPECT_EQ(d->steps[1].status, DeliveryStatus::kAssigned);
  EXPECT_EQ(d->steps[2].status, DeliveryStatus::kPickedUp);
  EXPECT_EQ(d->steps[3].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d->steps[3].courier_id, "kim");
  EXPECT_EQ(d->RequestIdOf(DeliveryStatus::kPickedUp), "req");
}

TEST(DeliveryDomainTest, ASecondRequestDoesNotApply) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kRequested), 1);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Apply(*d, Event(Type::kRequested), 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DeliveryDomainTest, PickUpNeedsTheAssignedCourier) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kRequested), 1);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Apply(*d, Event(Type::kPickedUp, "kim"), 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  d = Apply(*d, Event(Type::kAssigned, "kim"), 2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Apply(*d, Event(Type::kPickedUp, "lee"), 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Apply(*d, Event(Type::kDelivered, "kim"), 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DeliveryDomainTest, CancelAppliesBeforePickUpOnly) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kRequested), 1);
  ASSERT_TRUE(d.ok());
  d = Apply(*d, Event(Type::kAssigned, "kim"), 2);
  ASSERT_TRUE(d.ok());
  absl::StatusOr<Delivery> cancelled = Apply(*d, Event(Type::kCancelled), 3);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(Apply(*cancelled, Event(Type::kCancelled), 4).status().code(),
            absl::StatusCode::kFailedPrecondition);
  d = Apply(*d, Event(Type::kPickedUp, "kim"), 3);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Apply(*d, Event(Type::kCancelled), 4).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DeliveryDomainTest, ACancelCanBeTheFirstEventAndThenNoRequestApplies) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kCancelled), 1);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(Apply(*d, Event(Type::kRequested), 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DeliveryDomainTest, AnEventOfAnotherDeliveryDoesNotApply) {
  absl::StatusOr<Delivery> d = Apply(std::nullopt, Event(Type::kRequested), 1);
  ASSERT_TRUE(d.ok());
  DeliveryEvent other = Event(Type::kAssigned, "kim");
  other.delivery_id = "dlv-2";
  EXPECT_EQ(Apply(*d, other, 2).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DeliveryDomainTest, ChooseCourierIsStableAndNoneWithoutCouriers) {
  EXPECT_FALSE(ChooseCourier("dlv-1", {}).has_value());
  std::optional<std::string> a = ChooseCourier("dlv-1", {"kim", "lee", "park"});
  std::optional<std::string> b = ChooseCourier("dlv-1", {"park", "kim", "lee"});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a, b);
  EXPECT_EQ(ChooseCourier("dlv-1", {"kim"}), "kim");
}

TEST(DeliveryDomainTest, RegionsAndIdsAreValidated) {
  EXPECT_TRUE(ValidateRegion("seoul-1").ok());
  EXPECT_EQ(ValidateRegion("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRegion("Seoul").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRegion("a.b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateId("rental_id", "a.b", true).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateId("rental_id", std::string(200, 'x'), true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateId("rental_id", "a b", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateId("rental_id", "rnt-1", true).ok());
  EXPECT_EQ(ParseKindName("SIDEWAYS").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rentmesh::delivery
