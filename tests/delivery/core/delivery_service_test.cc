#include "core/delivery_service.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "in_memory_delivery_log.h"

namespace rentmesh::delivery {
namespace {

const Caller kLibrarian{"lib", false, true};
const Caller kAlice{"alice", false, false};
const Caller kBob{"bob", false, false};
Caller CourierCaller(std::string id) { return Caller{std::move(id), true, false}; }

class DeliveryServiceTest : public ::testing::Test {
 protected:
  DeliveryServiceTest() : service_(log_, log_, ids_, clock_, Options()) {}
  static DeliveryService::Options Options() {
    DeliveryService::Options o;
    o.customer_regions = {{"alice", "seoul"}};
    o.default_region = "central";
    return o;
  }
  absl::Time Deadline() { return absl::Now() + absl::Seconds(5); }
  absl::StatusOr<Delivery> Rent(const std::string& rental, const std::string& customer = "alice",
                                const std::string& event_id = "evt-1") {
    return service_.RequestForRental({rental, customer, "dune", event_id}, {}, Deadline());
  }
  absl::Status AddCourier(const std::string& id, const std::string& region) {
    Courier c;
    c.courier_id = id;
    c.region = region;
    c.request_id = "req-" + id;
    return service_.AddCourier(c, kLibrarian, {}, Deadline()).status();
  }

  InMemoryDeliveryLog log_;
  TestIdScheme ids_;
  ManualClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  DeliveryService service_;
};

TEST_F(DeliveryServiceTest, APaidRentalGetsADeliveryAssignedToACourierOfTheCustomersRegion) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  ASSERT_TRUE(AddCourier("lee", "busan").ok());
  absl::StatusOr<Delivery> d = Rent("r1");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->region, "seoul");
  EXPECT_EQ(d->status, DeliveryStatus::kAssigned);
  EXPECT_EQ(d->courier_id, "kim");
  EXPECT_EQ(d->steps.size(), 2u);
}

TEST_F(DeliveryServiceTest, ASecondBookRentedChangesNothing) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  ASSERT_TRUE(Rent("r1").ok());
  const int appends = log_.appends;
  absl::StatusOr<Delivery> again = Rent("r1", "alice", "evt-2");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(log_.appends, appends);
  EXPECT_EQ(again->RequestIdOf(DeliveryStatus::kRequested), "evt-1");
}

TEST_F(DeliveryServiceTest, ADeliveryWithNoCourierInItsRegionWaitsUntilOneIsAdded) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  absl::StatusOr<Delivery> d = Rent("r1", "bob");  // bob lives in the default region
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->region, "central");
  EXPECT_EQ(d->status, DeliveryStatus::kRequested);
  ASSERT_TRUE(AddCourier("park", "central").ok());
  absl::StatusOr<Delivery> after = service_.Get(d->delivery_id, kBob, Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, DeliveryStatus::kAssigned);
  EXPECT_EQ(after->courier_id, "park");
}

TEST_F(DeliveryServiceTest, TheBacklogCountsDeliveriesWaitingForACourierPerRegionWithTheOldest) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  auto empty = service_.AwaitingCourier(100);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  const absl::Time first = clock_.Now();
  ASSERT_TRUE(Rent("r1", "bob", "evt-1").ok());  // central: no courier
  clock_.Advance(absl::Minutes(3));
  ASSERT_TRUE(Rent("r2", "carol", "evt-2").ok());  // central
  ASSERT_TRUE(Rent("r3", "alice", "evt-3").ok());  // seoul: assigned at once
  auto backlog = service_.AwaitingCourier(100);
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  ASSERT_EQ(backlog->size(), 1u);
  EXPECT_EQ(backlog->at("central").waiting, 2);
  EXPECT_EQ(backlog->at("central").oldest_requested_at, first);
  ASSERT_TRUE(AddCourier("park", "central").ok());
  auto after = service_.AwaitingCourier(100);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->empty());
}

TEST_F(DeliveryServiceTest, OnlyTheAssignedCourierMovesTheDeliveryAndRetriesAreIdempotent) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  absl::StatusOr<Delivery> d = Rent("r1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(service_.PickUp(d->delivery_id, "p1", kAlice, {}, Deadline()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      service_.PickUp(d->delivery_id, "p1", CourierCaller("lee"), {}, Deadline()).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      service_.Deliver(d->delivery_id, "d1", CourierCaller("kim"), {}, Deadline()).status().code(),
      absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Delivery> picked =
      service_.PickUp(d->delivery_id, "p1", CourierCaller("kim"), {}, Deadline());
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ(picked->status, DeliveryStatus::kPickedUp);
  const int appends = log_.appends;
  absl::StatusOr<Delivery> retry =
      service_.PickUp(d->delivery_id, "p1", CourierCaller("kim"), {}, Deadline());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(log_.appends, appends);
  EXPECT_EQ(
      service_.PickUp(d->delivery_id, "p2", CourierCaller("kim"), {}, Deadline()).status().code(),
      absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Delivery> delivered =
      service_.Deliver(d->delivery_id, "d1", CourierCaller("kim"), {}, Deadline());
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_EQ(delivered->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(delivered->steps.size(), 4u);
}

TEST_F(DeliveryServiceTest, CancelSucceedsBeforePickUpAndIsIdempotent) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  ASSERT_TRUE(Rent("r1").ok());
  absl::StatusOr<Delivery> c = service_.Cancel("r1", "changed my mind", "c1", {}, Deadline());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(c->steps.back().note, "changed my mind");
  absl::StatusOr<Delivery> again = service_.Cancel("r1", "", "c2", {}, Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->status, DeliveryStatus::kCancelled);
}

TEST_F(DeliveryServiceTest, CancelIsRefusedOnceThePickUpHappened) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  absl::StatusOr<Delivery> d = Rent("r1");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(service_.PickUp(d->delivery_id, "p1", CourierCaller("kim"), {}, Deadline()).ok());
  EXPECT_EQ(service_.Cancel("r1", "", "c1", {}, Deadline()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DeliveryServiceTest, ACancelBeforeTheBookRentedIsHandledMeansNoDeliveryIsMade) {
  absl::StatusOr<Delivery> c = service_.Cancel("r1", "", "c1", {}, Deadline());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, DeliveryStatus::kCancelled);
  absl::StatusOr<Delivery> late = Rent("r1");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->status, DeliveryStatus::kCancelled);
}

TEST_F(DeliveryServiceTest, AReturnPickupNeedsTheDeliveredCopyAndItsCustomer) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  absl::StatusOr<Delivery> d = Rent("r1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(service_.RequestReturnPickup("r1", "rp1", kAlice, {}, Deadline()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_.PickUp(d->delivery_id, "p1", CourierCaller("kim"), {}, Deadline()).ok());
  ASSERT_TRUE(service_.Deliver(d->delivery_id, "d1", CourierCaller("kim"), {}, Deadline()).ok());
  EXPECT_EQ(service_.RequestReturnPickup("r1", "rp1", kBob, {}, Deadline()).status().code(),
            absl::StatusCode::kPermissionDenied);
  absl::StatusOr<Delivery> back = service_.RequestReturnPickup("r1", "rp1", kAlice, {}, Deadline());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, DeliveryKind::kReturn);
  EXPECT_EQ(back->status, DeliveryStatus::kAssigned);
  EXPECT_EQ(back->courier_id, "kim");
  absl::StatusOr<Delivery> found =
      service_.GetForRental("r1", DeliveryKind::kReturn, kAlice, Deadline());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->delivery_id, back->delivery_id);
}

TEST_F(DeliveryServiceTest, ReadsAreForTheCustomerTheCourierAndStaff) {
  ASSERT_TRUE(AddCourier("kim", "seoul").ok());
  ASSERT_TRUE(Rent("r1").ok());
  EXPECT_TRUE(service_.GetForRental("r1", DeliveryKind::kOutbound, kAlice, Deadline()).ok());
  EXPECT_TRUE(
      service_.GetForRental("r1", DeliveryKind::kOutbound, CourierCaller("kim"), Deadline()).ok());
  EXPECT_TRUE(service_.GetForRental("r1", DeliveryKind::kOutbound, kLibrarian, Deadline()).ok());
  EXPECT_EQ(service_.GetForRental("r1", DeliveryKind::kOutbound, kBob, Deadline()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      service_.GetForRental("r2", DeliveryKind::kOutbound, kAlice, Deadline()).status().code(),
      absl::StatusCode::kNotFound);
}

TEST_F(DeliveryServiceTest, AddCourierIsForStaffAndIdempotentByCourierId) {
  Courier c;
  c.courier_id = "kim";
  c.region = "seoul";
  c.request_id = "a1";
  EXPECT_EQ(service_.AddCourier(c, kAlice, {}, Deadline()).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_.AddCourier(c, kLibrarian, {}, Deadline()).ok());
  EXPECT_TRUE(service_.AddCourier(c, kLibrarian, {}, Deadline()).ok());
  c.region = "busan";
  EXPECT_EQ(service_.AddCourier(c, kLibrarian, {}, Deadline()).status().code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<std::vector<Courier>> listed = service_.ListCouriers("", Deadline());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
}

TEST_F(DeliveryServiceTest, BadInputIsInvalidArgumentAndWritesNothing) {
  EXPECT_EQ(service_.Cancel("a.b", "", "c1", {}, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Cancel("r1", "", "", {}, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Cancel("r1", std::string(2000, 'x'), "c1", {}, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.PickUp("", "p1", CourierCaller("kim"), {}, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  Courier c;
  c.courier_id = "kim";
  c.region = "Not A Region";
  c.request_id = "a1";
  EXPECT_EQ(service_.AddCourier(c, kLibrarian, {}, Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_.appends, 0);
}

TEST_F(DeliveryServiceTest, AnUnreachableLogIsUnavailable) {
  log_.available = false;
  EXPECT_EQ(Rent("r1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.Cancel("r1", "", "c1", {}, Deadline()).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rentmesh::delivery
