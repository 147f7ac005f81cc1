// Issue 10 (3, 4) on the real binaries with the mesh off: every service
// verifies its caller itself. Forged identity headers, missing or foreign
// tokens, and customers calling the saga's internal steps are refused by the
// service; rental's own calls to payment and returns still work.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using payment::v1::PaymentService;
using rental::v1::RentalService;
using returns::v1::ReturnService;

// How a test call presents itself.
struct As {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  As() = default;
  explicit As(std::string t, Headers h = {}) : token(std::move(t)), headers(std::move(h)) {}
  std::string token;  // "" = no authorization
  Headers headers;    // extra metadata
};

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    system_ = System::Start();
    ASSERT_NE(system_, nullptr);
    payment_ = &system_->Add("payment", "payment");
    returns_ = &system_->Add("returns", "returns");
    rental_ = &system_->Add(
        "rental", "rental",
        {"--payment_address=" + payment_->address(), "--returns_address=" + returns_->address()});
    ASSERT_TRUE(payment_->Start().ok()) << system_->dir();
    ASSERT_TRUE(returns_->Start().ok()) << system_->dir();
    ASSERT_TRUE(rental_->Start().ok()) << system_->dir();
    rental_stub_ = RentalService::NewStub(rental_->Channel());
    payment_stub_ = PaymentService::NewStub(payment_->Channel());
    returns_stub_ = ReturnService::NewStub(returns_->Channel());

    rental::v1::AddBookRequest add;
    add.set_book_id("dune");
    add.set_title("Dune");
    add.set_copies(5);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1500);
    rental::v1::Book book;
    auto ctx = Context(As{Librarian()});
    ASSERT_TRUE(rental_stub_->AddBook(ctx.get(), add, &book).ok());
  }

  static std::unique_ptr<grpc::ClientContext> Context(const As& as) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!as.token.empty()) testing::TestIdentity::Authorize(*ctx, as.token);
    for (const auto& [k, v] : as.headers) ctx->AddMetadata(k, v);
    return ctx;
  }
  static std::string Librarian() { return Identity().UserToken("lib-1", {"librarian"}); }
  static std::string Customer(const std::string& id) { return Identity().UserToken(id); }

  grpc::Status Rent(const As& as, const std::string& customer, const std::string& request_id,
                    rental::v1::Rental* out) {
    rental::v1::RentBookRequest req;
    req.set_customer_id(customer);
    req.set_book_id("dune");
    req.set_days(3);
    req.set_request_id(request_id);
    auto ctx = Context(as);
    return rental_stub_->RentBook(ctx.get(), req, out);
  }
  grpc::Status Pay(const As& as, const std::string& rental_id) {
    payment::v1::PayRequest req;
    req.set_rental_id(rental_id);
    req.set_customer_id("alice");
    req.mutable_amount()->set_currency("KRW");
    req.mutable_amount()->set_amount_minor(100);
    payment::v1::Payment out;
    auto ctx = Context(as);
    return payment_stub_->Pay(ctx.get(), req, &out);
  }
  grpc::Status Refund(const As& as, const std::string& payment_id) {
    payment::v1::RefundRequest req;
    req.set_payment_id(payment_id);
    req.set_reason("keep the book for free");
    payment::v1::Payment out;
    auto ctx = Context(as);
    return payment_stub_->Refund(ctx.get(), req, &out);
  }
  grpc::Status ProcessReturn(const As& as, const std::string& rental_id) {
    returns::v1::ProcessReturnRequest req;
    req.set_rental_id(rental_id);
    req.set_book_id("dune");
    req.set_customer_id("alice");
    req.mutable_due_at()->set_seconds(4102444800);  // a due date of the caller's choosing
    returns::v1::Return out;
    auto ctx = Context(as);
    return returns_stub_->ProcessReturn(ctx.get(), req, &out);
  }
  grpc::Status GetPayment(const As& as, const std::string& payment_id, payment::v1::Payment* out) {
    payment::v1::GetPaymentRequest req;
    req.set_payment_id(payment_id);
    auto ctx = Context(as);
    return payment_stub_->GetPayment(ctx.get(), req, out);
  }

  std::unique_ptr<System> system_;
  ServiceProcess* payment_ = nullptr;
  ServiceProcess* returns_ = nullptr;
  ServiceProcess* rental_ = nullptr;
  std::unique_ptr<RentalService::Stub> rental_stub_;
  std::unique_ptr<PaymentService::Stub> payment_stub_;
  std::unique_ptr<ReturnService::Stub> returns_stub_;
};

TEST_F(IdentityTest, ForgedIdentityHeadersWithoutAValidJwtAreRefusedByTheServiceItself) {
  rental::v1::Rental out;
  const As forged_headers{"", {{"x-rentmesh-subject", "alice"}, {"x-rentmesh-roles", "librarian"}}};
  EXPECT_EQ(Rent(forged_headers, "alice", "f1", &out).error_code(), grpc::UNAUTHENTICATED);
  // A token signed by a key the services do not trust.
  const As bad_key{Identity().ForgedToken("alice", {"librarian"}), {}};
  EXPECT_EQ(Rent(bad_key, "alice", "f2", &out).error_code(), grpc::UNAUTHENTICATED);
  const As garbage{"not-a-jwt", {}};
  EXPECT_EQ(Rent(garbage, "alice", "f3", &out).error_code(), grpc::UNAUTHENTICATED);
  // A real customer token with forged role headers: the headers are ignored.
  const As bob_claims_librarian{
      Customer("bob"), {{"x-rentmesh-roles", "librarian"}, {"x-rentmesh-subject", "alice"}}};
  EXPECT_EQ(Rent(bob_claims_librarian, "alice", "f4", &out).error_code(), grpc::PERMISSION_DENIED);
  rental::v1::AddBookRequest add;
  add.set_book_id("forged");
  add.set_title("Forged");
  add.set_copies(1);
  add.mutable_daily_fee()->set_currency("KRW");
  add.mutable_daily_fee()->set_amount_minor(100);
  rental::v1::Book book;
  auto ctx = Context(bob_claims_librarian);
  EXPECT_EQ(rental_stub_->AddBook(ctx.get(), add, &book).error_code(), grpc::PERMISSION_DENIED);
  // Nothing was written for anyone: alice's own retry of "f1" is a fresh rental.
  ASSERT_TRUE(Rent(As{Customer("alice")}, "alice", "f1", &out).ok());
  EXPECT_EQ(out.status(), rental::v1::RENTAL_STATUS_RENTED);
}

TEST_F(IdentityTest, AnonymousCallsAreRefusedWhereACustomerOrLibrarianIsRequired) {
  const As nobody;
  rental::v1::Rental out;
  EXPECT_EQ(Rent(nobody, "alice", "a1", &out).error_code(), grpc::UNAUTHENTICATED);
  ASSERT_TRUE(Rent(As{Customer("alice")}, "alice", "a2", &out).ok());
  rental::v1::GetRentalRequest get;
  get.set_rental_id(out.rental_id());
  rental::v1::Rental got;
  auto ctx = Context(nobody);
  EXPECT_EQ(rental_stub_->GetRental(ctx.get(), get, &got).error_code(), grpc::UNAUTHENTICATED);
  payment::v1::Payment p;
  EXPECT_EQ(GetPayment(nobody, out.payment_id(), &p).error_code(), grpc::UNAUTHENTICATED);
  returns::v1::GetRentalReturnRequest rr;
  rr.set_rental_id(out.rental_id());
  returns::v1::Return r;
  auto rctx = Context(nobody);
  EXPECT_EQ(returns_stub_->GetRentalReturn(rctx.get(), rr, &r).error_code(), grpc::UNAUTHENTICATED);
  // The catalog stays public.
  rental::v1::GetBookRequest gb;
  gb.set_book_id("dune");
  rental::v1::Book book;
  auto bctx = Context(nobody);
  EXPECT_TRUE(rental_stub_->GetBook(bctx.get(), gb, &book).ok());
}

TEST_F(IdentityTest, ACustomerTokenCannotCallTheSagasInternalSteps) {
  rental::v1::Rental rented;
  ASSERT_TRUE(Rent(As{Customer("alice")}, "alice", "s1", &rented).ok());
  ASSERT_EQ(rented.status(), rental::v1::RENTAL_STATUS_RENTED);
  const As alice{Customer("alice")};
  EXPECT_EQ(Refund(alice, rented.payment_id()).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(ProcessReturn(alice, rented.rental_id()).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(Pay(alice, "rent-of-nothing").error_code(), grpc::PERMISSION_DENIED);
  // A "service" role in a customer token (the edge's key) makes no service.
  const As fake_rental{Identity().UserToken("rental", {"service"})};
  EXPECT_EQ(Pay(fake_rental, "rent-of-nothing").error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(ProcessReturn(fake_rental, rented.rental_id()).error_code(), grpc::PERMISSION_DENIED);
  // Another service's identity is not rental's.
  const As payment_service{Identity().ServiceToken("payment")};
  EXPECT_EQ(Pay(payment_service, "rent-of-nothing").error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(ProcessReturn(payment_service, rented.rental_id()).error_code(),
            grpc::PERMISSION_DENIED);

  // Nothing changed: the fee is still approved, and alice's real return works
  // (rental calls returns with its own identity) and is recorded with the
  // real due date.
  payment::v1::Payment p;
  ASSERT_TRUE(GetPayment(alice, rented.payment_id(), &p).ok());
  EXPECT_EQ(p.status(), payment::v1::PAYMENT_STATUS_APPROVED);
  rental::v1::ReturnBookRequest ret;
  ret.set_rental_id(rented.rental_id());
  ret.set_request_id("ret-1");
  rental::v1::Rental returned;
  auto ctx = Context(alice);
  grpc::Status st = rental_stub_->ReturnBook(ctx.get(), ret, &returned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(returned.status(), rental::v1::RENTAL_STATUS_RETURNED);
}

TEST_F(IdentityTest, OnlyTheOwningServiceOrStaffMayCallTheInternalSteps) {
  const As rental_service{Identity().ServiceToken("rental")};
  EXPECT_TRUE(Pay(rental_service, "rent-direct-1").ok());
  EXPECT_TRUE(ProcessReturn(rental_service, "rent-direct-1").ok());
  // A librarian may refund (a person's decision); rental's identity may not.
  rental::v1::Rental rented;
  ASSERT_TRUE(Rent(As{Customer("carol")}, "carol", "o1", &rented).ok());
  EXPECT_EQ(Refund(rental_service, rented.payment_id()).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_TRUE(Refund(As{Librarian()}, rented.payment_id()).ok());
  EXPECT_EQ(Pay(As{Librarian()}, "rent-direct-2").error_code(), grpc::PERMISSION_DENIED);
}

}  // namespace
}  // namespace rentmesh::e2e
