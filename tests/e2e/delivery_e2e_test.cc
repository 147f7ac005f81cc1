// Deliveries on the real binaries: a paid rental gets a delivery, and
// CancelRental cancels it synchronously first (rental --delivery_address):
// the cancel succeeds only if the delivery cancel did, refused once the copy
// was picked up, and UNAVAILABLE at once while delivery is down.
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "rentmesh/delivery/v1/delivery.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using delivery::v1::DeliveryService;
using rental::v1::RentalService;

class DeliveryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    system_ = System::Start();
    ASSERT_NE(system_, nullptr);
    payment_ = &system_->Add("payment", "payment");
    returns_ = &system_->Add("returns", "returns");
    delivery_ = &system_->Add("delivery", "delivery", {"--couriers=kim@central"});
    rental_ = &system_->Add(
        "rental", "rental",
        {"--payment_address=" + payment_->address(), "--returns_address=" + returns_->address(),
         "--delivery_address=" + delivery_->address(), "--delivery_deadline_ms=1000",
         "--breaker_failures=2"});
    ASSERT_TRUE(payment_->Start().ok());
    ASSERT_TRUE(returns_->Start().ok());
    ASSERT_TRUE(delivery_->Start().ok());
    ASSERT_TRUE(rental_->Start().ok());
    rentals_ = RentalService::NewStub(rental_->Channel());
    deliveries_ = DeliveryService::NewStub(delivery_->Channel());
    rental::v1::AddBookRequest add;
    add.set_book_id("dune");
    add.set_title("Dune");
    add.set_copies(10);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1000);
    rental::v1::Book book;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    ASSERT_TRUE(rentals_->AddBook(&ctx, add, &book).ok());
  }
  void TearDown() override {
    if (system_ == nullptr) return;
    system_->StopAll();
    EXPECT_EQ(system_->nats().PermissionViolations(), "") << "see " << system_->dir();
  }

  std::string Rent(const std::string& request_id) {
    rental::v1::RentBookRequest req;
    req.set_customer_id("alice");
    req.set_book_id("dune");
    req.set_days(2);
    req.set_request_id(request_id);
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    grpc::Status st = rentals_->RentBook(&ctx, req, &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r.rental_id();
  }
  grpc::Status Cancel(const std::string& rental_id, const std::string& request_id) {
    rental::v1::CancelRentalRequest req;
    req.set_rental_id(rental_id);
    req.set_reason("changed my mind");
    req.set_request_id(request_id);
    rental::v1::Rental out;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return rentals_->CancelRental(&ctx, req, &out);
  }
  rental::v1::RentalStatus RentalStatusOf(const std::string& rental_id) {
    rental::v1::GetRentalRequest req;
    req.set_rental_id(rental_id);
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    EXPECT_TRUE(rentals_->GetRental(&ctx, req, &r).ok());
    return r.status();
  }
  // Waits until the rental's delivery has `status`.
  bool AwaitDelivery(const std::string& rental_id, delivery::v1::DeliveryStatus status,
                     delivery::v1::Delivery* out = nullptr) {
    delivery::v1::Delivery d;
    bool ok = testing::Eventually([&] {
      delivery::v1::GetRentalDeliveryRequest req;
      req.set_rental_id(rental_id);
      grpc::ClientContext ctx;
      WithDeadline(ctx, absl::Seconds(5));
      d.Clear();
      return deliveries_->GetRentalDelivery(&ctx, req, &d).ok() && d.status() == status;
    });
    if (out != nullptr) *out = d;
    return ok;
  }

  std::unique_ptr<System> system_;
  ServiceProcess* payment_ = nullptr;
  ServiceProcess* returns_ = nullptr;
  ServiceProcess* delivery_ = nullptr;
  ServiceProcess* rental_ = nullptr;
  std::unique_ptr<RentalService::Stub> rentals_;
  std::unique_ptr<DeliveryService::Stub> deliveries_;
};

TEST_F(DeliveryE2eTest, CancellingARentalBeforeThePickUpCancelsItsDeliveryFirst) {
  const std::string rental_id = Rent("r-1");
  ASSERT_FALSE(rental_id.empty());
  ASSERT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_ASSIGNED));
  grpc::Status st = Cancel(rental_id, "c-1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(RentalStatusOf(rental_id), rental::v1::RENTAL_STATUS_CANCELLED);
  EXPECT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_CANCELLED));
  // A retry of the cancel answers the cancelled rental.
  st = Cancel(rental_id, "c-1");
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(DeliveryE2eTest, ARentalWhoseCopyWasPickedUpCannotBeCancelled) {
  const std::string rental_id = Rent("r-2");
  ASSERT_FALSE(rental_id.empty());
  delivery::v1::Delivery d;
  ASSERT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_ASSIGNED, &d));
  EXPECT_EQ(d.courier_id(), "kim");
  delivery::v1::PickUpDeliveryRequest pick;
  pick.set_delivery_id(d.delivery_id());
  pick.set_request_id("p-1");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  testing::TestIdentity::Authorize(ctx, Identity().UserToken("kim", {"courier"}));
  delivery::v1::Delivery picked;
  grpc::Status st = deliveries_->PickUpDelivery(&ctx, pick, &picked);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = Cancel(rental_id, "c-2");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(RentalStatusOf(rental_id), rental::v1::RENTAL_STATUS_RENTED);
  EXPECT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_PICKED_UP));
}

TEST_F(DeliveryE2eTest, WhileDeliveryIsDownACancelFailsFastAndChangesNothing) {
  const std::string rental_id = Rent("r-3");
  ASSERT_FALSE(rental_id.empty());
  ASSERT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_ASSIGNED));
  delivery_->Stop();
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status st = Cancel(rental_id, "c-3");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  }
  EXPECT_EQ(RentalStatusOf(rental_id), rental::v1::RENTAL_STATUS_RENTED);
  // Back up (and past the breaker's cool-down), the same cancel goes through.
  ASSERT_TRUE(delivery_->Start().ok());
  ASSERT_TRUE(testing::Eventually([&] { return Cancel(rental_id, "c-3").ok(); }, absl::Seconds(15),
                                  absl::Milliseconds(200)));
  EXPECT_EQ(RentalStatusOf(rental_id), rental::v1::RENTAL_STATUS_CANCELLED);
  EXPECT_TRUE(AwaitDelivery(rental_id, delivery::v1::DELIVERY_STATUS_CANCELLED));
}

}  // namespace
}  // namespace rentmesh::e2e
