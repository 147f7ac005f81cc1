// Pricing tiers (seed 004 VIP) on the real binaries: a librarian sets a
// customer's tier, the next rental is charged base fee less the tier's
// discount, a cancellation refunds what was charged, and a rental keeps its
// price when rental restarts with another --tier_discounts.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using payment::v1::Payment;
using rental::v1::RentalService;

class PricingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    system_ = System::Start();
    ASSERT_NE(system_, nullptr);
    payment_ = &system_->Add("payment", "payment");
    returns_ = &system_->Add("returns", "returns");
    rental_ = &system_->Add(
        "rental", "rental",
        {"--payment_address=" + payment_->address(), "--returns_address=" + returns_->address(),
         "--tier_discounts=vip:20,gold:10"});
    ASSERT_TRUE(payment_->Start().ok()) << system_->dir();
    ASSERT_TRUE(returns_->Start().ok()) << system_->dir();
    ASSERT_TRUE(rental_->Start().ok()) << system_->dir();
    Connect();
    rental::v1::AddBookRequest add;
    add.set_book_id("dune");
    add.set_title("Dune");
    add.set_copies(5);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1500);
    rental::v1::Book book;
    auto ctx = Context(Librarian());
    ASSERT_TRUE(rental_stub_->AddBook(ctx.get(), add, &book).ok());
  }
  void Connect() { rental_stub_ = RentalService::NewStub(rental_->Channel()); }

  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    testing::TestIdentity::Authorize(*ctx, token);
    return ctx;
  }
  static std::string Librarian() { return Identity().UserToken("lib-1", {"librarian"}); }
  static std::string Customer(const std::string& id) { return Identity().UserToken(id); }

  grpc::Status SetTier(const std::string& token, const std::string& customer,
                       const std::string& tier, const std::string& request_id,
                       rental::v1::CustomerTier* out) {
    rental::v1::SetCustomerTierRequest req;
    req.set_customer_id(customer);
    req.set_tier(tier);
    req.set_request_id(request_id);
    auto ctx = Context(token);
    return rental_stub_->SetCustomerTier(ctx.get(), req, out);
  }
  grpc::Status Rent(const std::string& customer, const std::string& request_id,
                    rental::v1::Rental* out) {
    rental::v1::RentBookRequest req;
    req.set_customer_id(customer);
    req.set_book_id("dune");
    req.set_days(3);
    req.set_request_id(request_id);
    auto ctx = Context(Customer(customer));
    return rental_stub_->RentBook(ctx.get(), req, out);
  }
  std::vector<Payment> PaymentsOf(const std::string& rental_id) {
    auto stub = payment::v1::PaymentService::NewStub(payment_->Channel());
    payment::v1::ListRentalPaymentsRequest req;
    req.set_rental_id(rental_id);
    payment::v1::ListRentalPaymentsResponse resp;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    if (!stub->ListRentalPayments(&ctx, req, &resp).ok()) return {};
    return {resp.payments().begin(), resp.payments().end()};
  }
  // Waits (bounded) until `done` holds for the rental's payments.
  bool WaitForPayments(const std::string& rental_id,
                       const std::function<bool(const std::vector<Payment>&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (done(PaymentsOf(rental_id))) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<System> system_;
  ServiceProcess* payment_ = nullptr;
  ServiceProcess* returns_ = nullptr;
  ServiceProcess* rental_ = nullptr;
  std::unique_ptr<RentalService::Stub> rental_stub_;
};

TEST_F(PricingTest, OnlyALibrarianSetsATierAndItPricesTheNextRentalWhoseRefundIsWhatWasCharged) {
  rental::v1::CustomerTier tier;
  EXPECT_EQ(SetTier(Customer("alice"), "alice", "vip", "t-1", &tier).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(SetTier(Librarian(), "alice", "platinum", "t-1", &tier).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetTier(Librarian(), "alice", "vip", "", &tier).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(SetTier(Librarian(), "alice", "vip", "t-1", &tier).ok());
  EXPECT_EQ(tier.tier(), "vip");
  EXPECT_EQ(tier.discount_percent(), 20);
  EXPECT_EQ(tier.version(), 1u);
  rental::v1::CustomerTier again;
  ASSERT_TRUE(SetTier(Librarian(), "alice", "vip", "t-1", &again).ok());
  EXPECT_EQ(again.version(), 1u);
  EXPECT_EQ(again.consistency_token(), tier.consistency_token());

  rental::v1::Rental r;
  ASSERT_TRUE(Rent("alice", "r-1", &r).ok());
  EXPECT_EQ(r.status(), rental::v1::RENTAL_STATUS_RENTED);
  EXPECT_EQ(r.tier(), "vip");
  EXPECT_EQ(r.discount_percent(), 20);
  EXPECT_EQ(r.base_fee().amount_minor(), 4500);
  EXPECT_EQ(r.discount().amount_minor(), 900);
  EXPECT_EQ(r.charged().amount_minor(), 3600);
  EXPECT_EQ(r.fee().amount_minor(), 3600);
  std::vector<Payment> paid = PaymentsOf(r.rental_id());
  ASSERT_EQ(paid.size(), 1u);
  EXPECT_EQ(paid[0].amount().amount_minor(), 3600);

  rental::v1::CancelRentalRequest cancel;
  cancel.set_rental_id(r.rental_id());
  cancel.set_request_id("c-1");
  rental::v1::Rental cancelled;
  auto ctx = Context(Customer("alice"));
  ASSERT_TRUE(rental_stub_->CancelRental(ctx.get(), cancel, &cancelled).ok());
  ASSERT_TRUE(WaitForPayments(r.rental_id(), [](const std::vector<Payment>& p) {
    return p.size() == 1 && p[0].status() == payment::v1::PAYMENT_STATUS_REFUNDED;
  }));
  EXPECT_EQ(PaymentsOf(r.rental_id())[0].refunded().amount_minor(), 3600);

  // A customer without a tier pays the base fee.
  rental::v1::Rental bob;
  ASSERT_TRUE(Rent("bob", "r-1", &bob).ok());
  EXPECT_EQ(bob.tier(), "standard");
  EXPECT_EQ(bob.charged().amount_minor(), 4500);
}

TEST_F(PricingTest, RestartedWithAnotherPolicyARentalKeepsItsPriceAndNewOnesGetTheNewOne) {
  rental::v1::CustomerTier tier;
  ASSERT_TRUE(SetTier(Librarian(), "alice", "vip", "t-1", &tier).ok());
  rental::v1::Rental first;
  ASSERT_TRUE(Rent("alice", "r-1", &first).ok());
  ASSERT_EQ(first.charged().amount_minor(), 3600);

  rental_->Stop();
  while (rental_->Running()) absl::SleepFor(absl::Milliseconds(50));
  // The later flag wins over the fixture's.
  ASSERT_TRUE(rental_->Start({"--tier_discounts=vip:50"}).ok()) << system_->dir();
  Connect();

  rental::v1::GetRentalRequest get;
  get.set_rental_id(first.rental_id());
  rental::v1::Rental old;
  auto ctx = Context(Customer("alice"));
  ASSERT_TRUE(rental_stub_->GetRental(ctx.get(), get, &old).ok());
  EXPECT_EQ(old.discount_percent(), 20);
  EXPECT_EQ(old.base_fee().amount_minor(), 4500);
  EXPECT_EQ(old.discount().amount_minor(), 900);
  EXPECT_EQ(old.charged().amount_minor(), 3600);

  rental::v1::Rental second;
  ASSERT_TRUE(Rent("alice", "r-2", &second).ok());
  EXPECT_EQ(second.discount_percent(), 50);
  EXPECT_EQ(second.charged().amount_minor(), 2250);
}

TEST_F(PricingTest, ABadTierPolicyStopsRentalAtStartWithAClearError) {
  ServiceProcess& bad =
      system_->Add("rental", "rental-bad",
                   {"--payment_address=" + payment_->address(),
                    "--returns_address=" + returns_->address(), "--tier_discounts=vip:abc"});
  bad.StartNoWait();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (bad.Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(bad.Running());
  std::ifstream log(system_->dir() + "/rental-bad.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("bad --tier_discounts"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("vip:abc"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace rentmesh::e2e
