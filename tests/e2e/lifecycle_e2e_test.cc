// Issue 3 on the real binaries: return (synchronous return processing, late
// fee charged once), cancel (refund by event, also when payment was down),
// illegal transitions, two payment replicas sharing the work.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"
#include "rentmesh/rental/v1/rental.grpc.pb.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"
#include "rentmesh/view/v1/view.grpc.pb.h"
#include "system.h"

namespace rentmesh::e2e {
namespace {

using payment::v1::Payment;
using payment::v1::PaymentService;
using rental::v1::RentalService;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    system_ = System::Start();
    ASSERT_NE(system_, nullptr);
    payment_ = &system_->Add("payment", "payment");
    returns_ = &system_->Add("returns", "returns",
                             {"--late_fee_per_day_minor=500", "--damage_fee_minor=10000"});
    rental_ =
        &system_->Add("rental", "rental",
                      {"--payment_address=" + payment_->address(),
                       "--returns_address=" + returns_->address(), "--returns_deadline_ms=1000"});
    ASSERT_TRUE(payment_->Start().ok());
    ASSERT_TRUE(returns_->Start().ok());
    ASSERT_TRUE(rental_->Start().ok());
    stub_ = RentalService::NewStub(rental_->Channel());
    rental::v1::AddBookRequest add;
    add.set_book_id("dune");
    add.set_title("Dune");
    add.set_copies(200);
    add.mutable_daily_fee()->set_currency("KRW");
    add.mutable_daily_fee()->set_amount_minor(1000);
    rental::v1::Book book;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    ASSERT_TRUE(stub_->AddBook(&ctx, add, &book).ok());
  }
  // Every service did all it needed with its own NATS user's permissions:
  // the server refused nothing (a missing permission shows up here first).
  void TearDown() override {
    if (system_ == nullptr) return;
    system_->StopAll();
    EXPECT_EQ(system_->nats().PermissionViolations(), "") << "see " << system_->dir();
  }

  rental::v1::Rental Rent(const std::string& customer, const std::string& request_id) {
    rental::v1::RentBookRequest req;
    req.set_customer_id(customer);
    req.set_book_id("dune");
    req.set_days(2);
    req.set_request_id(request_id);
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    grpc::Status st = stub_->RentBook(&ctx, req, &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }

  grpc::Status Return(const std::string& rental_id, bool damaged, const std::string& request_id,
                      rental::v1::Rental* out) {
    rental::v1::ReturnBookRequest req;
    req.set_rental_id(rental_id);
    req.set_condition(damaged ? rental::v1::BOOK_CONDITION_DAMAGED
                              : rental::v1::BOOK_CONDITION_GOOD);
    req.set_request_id(request_id);
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub_->ReturnBook(&ctx, req, out);
  }

  grpc::Status Cancel(const std::string& rental_id, const std::string& request_id,
                      rental::v1::Rental* out) {
    rental::v1::CancelRentalRequest req;
    req.set_rental_id(rental_id);
    req.set_reason("changed my mind");
    req.set_request_id(request_id);
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub_->CancelRental(&ctx, req, out);
  }

  rental::v1::Rental Get(const std::string& rental_id) {
    rental::v1::GetRentalRequest req;
    req.set_rental_id(rental_id);
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    EXPECT_TRUE(stub_->GetRental(&ctx, req, &r).ok());
    return r;
  }

  std::vector<Payment> PaymentsOf(const ServiceProcess& payment, const std::string& rental_id) {
    auto stub = PaymentService::NewStub(payment.Channel());
    payment::v1::ListRentalPaymentsRequest req;
    req.set_rental_id(rental_id);
    payment::v1::ListRentalPaymentsResponse resp;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    if (!stub->ListRentalPayments(&ctx, req, &resp).ok()) return {};
    return {resp.payments().begin(), resp.payments().end()};
  }

  // Waits until `done` holds for the payments of `rental_id`.
  bool WaitForPayments(const ServiceProcess& payment, const std::string& rental_id,
                       const std::function<bool(const std::vector<Payment>&)>& done,
                       absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done(PaymentsOf(payment, rental_id))) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // Events of `type` in `stream`, counted from the stream itself.
  int CountEvents(const std::string& stream, const std::string& subjects, const std::string& type) {
    auto js = nats::JetStream::Connect(system_->nats().url(), "counter", absl::Seconds(5));
    EXPECT_TRUE(js.ok());
    absl::Mutex mu;
    int count = 0;
    auto follower = nats::StreamFollower::Start(
        **js, {stream, subjects, 0, 256}, [&](const std::vector<nats::StreamMessage>& batch) {
          absl::MutexLock lock(&mu);
          for (const auto& m : batch) count += m.Header(nats::kEventTypeHeader) == type;
          return absl::OkStatus();
        });
    EXPECT_TRUE(follower.ok());
    EXPECT_TRUE((*follower)->CatchUp(absl::Now() + absl::Seconds(10)).ok());
    absl::MutexLock lock(&mu);
    return count;
  }

  uint64_t RentalStreamLength() {
    auto js = nats::JetStream::Connect(system_->nats().url(), "probe", absl::Seconds(5));
    return *(*js)->LastSequence("RENTAL");
  }

  std::unique_ptr<System> system_;
  ServiceProcess* payment_ = nullptr;
  ServiceProcess* returns_ = nullptr;
  ServiceProcess* rental_ = nullptr;
  std::unique_ptr<RentalService::Stub> stub_;
};

TEST_F(LifecycleTest, ReturningADamagedBookRecordsTheReturnAndChargesTheFeeOnce) {
  rental::v1::Rental r = Rent("alice", "a-1");
  rental::v1::Rental returned;
  grpc::Status st = Return(r.rental_id(), /*damaged=*/true, "ret-1", &returned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(returned.status(), rental::v1::RENTAL_STATUS_RETURNED);
  EXPECT_EQ(returned.late_fee().amount_minor(), 10000);
  EXPECT_FALSE(returned.return_id().empty());

  // The returns service recorded the inspection.
  auto returns_stub = returns::v1::ReturnService::NewStub(returns_->Channel());
  returns::v1::GetRentalReturnRequest rq;
  rq.set_rental_id(r.rental_id());
  returns::v1::Return inspection;
  grpc::ClientContext ctx;
  WithDeadline(ctx, absl::Seconds(5));
  ASSERT_TRUE(returns_stub->GetRentalReturn(&ctx, rq, &inspection).ok());
  EXPECT_EQ(inspection.return_id(), returned.return_id());
  EXPECT_EQ(inspection.condition(), returns::v1::CONDITION_DAMAGED);

  // Payment charges the fee exactly once, even when the return is retried.
  rental::v1::Rental again;
  ASSERT_TRUE(Return(r.rental_id(), true, "ret-1", &again).ok());
  EXPECT_EQ(again.version(), returned.version());
  ASSERT_TRUE(WaitForPayments(*payment_, r.rental_id(), [](const std::vector<Payment>& p) {
    return p.size() == 2 && p[1].kind() == payment::v1::PAYMENT_KIND_LATE_FEE;
  }));
  absl::SleepFor(absl::Milliseconds(500));
  auto payments = PaymentsOf(*payment_, r.rental_id());
  ASSERT_EQ(payments.size(), 2u);
  EXPECT_EQ(payments[1].amount().amount_minor(), 10000);
  EXPECT_EQ(CountEvents("PAYMENT", "payment.>", "LateFeeCharged"), 1);
}

// The return saga needs no compensation: the inspection is recorded first,
// the fee is charged only on the rental's own BookReturned. A crash between
// the two leaves the rental RENTED with nothing charged; the retried return
// completes it and charges the fee once.
TEST_F(LifecycleTest, ACrashBetweenInspectionAndReturnChargesNothingUntilTheReturnIsRecorded) {
  rental::v1::Rental r = Rent("alice", "a-crash");
  rental_->Stop();
  ASSERT_TRUE(rental_->Start({"--failpoints=rental.after_return_processed=crash"}).ok());
  stub_ = RentalService::NewStub(rental_->Channel());
  rental::v1::Rental out;
  EXPECT_FALSE(Return(r.rental_id(), /*damaged=*/true, "ret-crash", &out).ok());
  for (int i = 0; i < 100 && rental_->Running(); ++i) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_FALSE(rental_->Running()) << "the failpoint did not crash rental";
  ASSERT_TRUE(rental_->Start().ok());
  stub_ = RentalService::NewStub(rental_->Channel());
  EXPECT_EQ(Get(r.rental_id()).status(), rental::v1::RENTAL_STATUS_RENTED);
  absl::SleepFor(absl::Seconds(2));  // room for a wrong charge to show up
  EXPECT_EQ(CountEvents("PAYMENT", "payment.>", "LateFeeCharged"), 0)
      << "a fee was charged for a return the rental never recorded";

  ASSERT_TRUE(Return(r.rental_id(), true, "ret-crash", &out).ok());
  EXPECT_EQ(out.status(), rental::v1::RENTAL_STATUS_RETURNED);
  EXPECT_TRUE(WaitForPayments(*payment_, r.rental_id(), [](const std::vector<Payment>& p) {
    return p.size() == 2 && p[1].kind() == payment::v1::PAYMENT_KIND_LATE_FEE;
  }));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(CountEvents("PAYMENT", "payment.>", "LateFeeCharged"), 1);
}

TEST_F(LifecycleTest, ReturnsDownLeavesTheRentalRentedWithAFastUnavailable) {
  rental::v1::Rental r = Rent("alice", "a-1");
  returns_->Stop();
  rental::v1::Rental out;
  absl::Time start = absl::Now();
  grpc::Status st = Return(r.rental_id(), false, "ret-1", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_NE(st.error_message().find("try again shortly"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Get(r.rental_id()).status(), rental::v1::RENTAL_STATUS_RENTED);

  ASSERT_TRUE(returns_->Start().ok());
  // Retrying, as the message asks, succeeds once rental reconnects.
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  do {
    st = Return(r.rental_id(), false, "ret-1", &out);
    if (!st.ok()) absl::SleepFor(absl::Milliseconds(200));
  } while (!st.ok() && absl::Now() < deadline);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), rental::v1::RENTAL_STATUS_RETURNED);
  EXPECT_EQ(out.late_fee().amount_minor(), 0);
}

TEST_F(LifecycleTest, IllegalTransitionsAreRefusedAndChangeNothing) {
  rental::v1::Rental returned = Rent("alice", "a-1");
  rental::v1::Rental cancelled = Rent("bob", "b-1");
  rental::v1::Rental out;
  ASSERT_TRUE(Return(returned.rental_id(), false, "r-1", &out).ok());
  ASSERT_TRUE(Cancel(cancelled.rental_id(), "c-1", &out).ok());
  const uint64_t before = RentalStreamLength();

  struct Case {
    const char* what;
    grpc::Status status;
  };
  std::vector<Case> cases = {
      {"return twice", Return(returned.rental_id(), false, "r-2", &out)},
      {"cancel a returned rental", Cancel(returned.rental_id(), "c-2", &out)},
      {"return a cancelled rental", Return(cancelled.rental_id(), false, "r-3", &out)},
      {"cancel twice", Cancel(cancelled.rental_id(), "c-3", &out)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << c.what;
    EXPECT_FALSE(c.status.error_message().empty()) << c.what;
  }
  rental::v1::Rental unknown;
  EXPECT_EQ(Cancel("no-such-rental", "c-4", &unknown).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RentalStreamLength(), before);
  EXPECT_EQ(Get(returned.rental_id()).status(), rental::v1::RENTAL_STATUS_RETURNED);
  EXPECT_EQ(Get(cancelled.rental_id()).status(), rental::v1::RENTAL_STATUS_CANCELLED);
}

TEST_F(LifecycleTest, CancellationsWhilePaymentIsDownAreAllRefundedOnceWhenItComesBack) {
  constexpr int kRentals = 50;
  std::vector<std::string> ids;
  for (int i = 0; i < kRentals; ++i)
    ids.push_back(Rent("c" + std::to_string(i), "r" + std::to_string(i)).rental_id());
  payment_->Stop();
  for (int i = 0; i < kRentals; ++i) {
    rental::v1::Rental out;
    grpc::Status st = Cancel(ids[i], "c" + std::to_string(i), &out);
    ASSERT_TRUE(st.ok()) << "cancel must work while payment is down: " << st.error_message();
    EXPECT_EQ(out.status(), rental::v1::RENTAL_STATUS_CANCELLED);
  }
  ASSERT_TRUE(payment_->Start().ok());
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitForPayments(*payment_, id, [](const std::vector<Payment>& p) {
      return p.size() == 1 && p[0].status() == payment::v1::PAYMENT_STATUS_REFUNDED;
    })) << id;
  }
  EXPECT_EQ(CountEvents("PAYMENT", "payment.>", "PaymentRefunded"), kRentals);
}

TEST_F(LifecycleTest, TwoPaymentReplicasShareTheRefundsAndHandleEachOnce) {
  auto& second = system_->Add("payment", "payment-2");
  ASSERT_TRUE(second.Start().ok());
  constexpr int kRentals = 30;
  std::vector<std::string> ids;
  for (int i = 0; i < kRentals; ++i)
    ids.push_back(Rent("d" + std::to_string(i), "r" + std::to_string(i)).rental_id());
  for (int i = 0; i < kRentals; ++i) {
    rental::v1::Rental out;
    ASSERT_TRUE(Cancel(ids[i], "c" + std::to_string(i), &out).ok());
  }
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitForPayments(second, id, [](const std::vector<Payment>& p) {
      return p.size() == 1 && p[0].status() == payment::v1::PAYMENT_STATUS_REFUNDED;
    })) << id;
  }
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(CountEvents("PAYMENT", "payment.>", "PaymentRefunded"), kRentals);
}

// Rental spreads Pay over every payment replica it is given, with a breaker
// per replica: one replica stopping (or restarting) costs no failed rental
// while another is up. It used to answer "payment is unavailable" for the
// breaker's open time.
TEST_F(LifecycleTest, OnePaymentReplicaDownCostsNoRentalWhileAnotherIsUp) {
  auto& second = system_->Add("payment", "payment-2");
  ASSERT_TRUE(second.Start().ok());
  auto& spread = system_->Add("rental", "rental-spread",
                              {"--payment_address=" + payment_->address() + "," + second.address(),
                               "--returns_address=" + returns_->address()});
  ASSERT_TRUE(spread.Start().ok());
  auto stub = RentalService::NewStub(spread.Channel());
  auto rent = [&](int i) {
    rental::v1::RentBookRequest req;
    req.set_customer_id("s" + std::to_string(i));
    req.set_book_id("dune");
    req.set_days(1);
    req.set_request_id("spread-" + std::to_string(i));
    rental::v1::Rental r;
    grpc::ClientContext ctx;
    WithDeadline(ctx, absl::Seconds(10));
    return stub->RentBook(&ctx, req, &r);
  };
  int failed = 0;
  for (int i = 0; i < 10; ++i) failed += !rent(i).ok();
  payment_->Stop();  // graceful, as in a rolling restart
  for (int i = 10; i < 30; ++i) {
    grpc::Status st = rent(i);
    if (!st.ok()) {
      ++failed;
      ADD_FAILURE() << "rental " << i << ": " << st.error_message();
    }
  }
  payment_->Kill();
  EXPECT_EQ(failed, 0);
}

TEST_F(LifecycleTest, MyPageShowsEveryRentalOfTheCustomerAndReadsItsOwnWrites) {
  auto& view = system_->Add("view", "view");
  ASSERT_TRUE(view.Start().ok());
  auto view_stub = view::v1::ViewService::NewStub(view.Channel());

  rental::v1::Rental kept = Rent("erin", "e-1");
  rental::v1::Rental cancelled = Rent("erin", "e-2");
  rental::v1::Rental returned = Rent("erin", "e-3");
  rental::v1::Rental out;
  ASSERT_TRUE(Cancel(cancelled.rental_id(), "c-1", &out).ok());
  ASSERT_TRUE(Return(returned.rental_id(), /*damaged=*/true, "r-1", &out).ok());

  // The last write's token: the page reflects at least everything up to it.
  view::v1::GetMyPageRequest req;
  req.set_customer_id("erin");
  req.set_consistency_token(out.consistency_token());
  view::v1::GetMyPageResponse page;
  grpc::ClientContext ctx;
  WithDeadline(ctx, absl::Seconds(5));
  grpc::Status st = view_stub->GetMyPage(&ctx, req, &page);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(page.rentals_size(), 3);
  std::map<std::string, view::v1::RentalSummary> by_id;
  for (const auto& r : page.rentals()) by_id[r.rental_id()] = r;
  EXPECT_EQ(page.rentals(0).rental_id(), returned.rental_id()) << "newest first";
  EXPECT_EQ(by_id[kept.rental_id()].status(), view::v1::RENTAL_STATE_RENTED);
  EXPECT_EQ(by_id[kept.rental_id()].book_title(), "Dune");
  EXPECT_EQ(by_id[cancelled.rental_id()].status(), view::v1::RENTAL_STATE_CANCELLED);
  EXPECT_EQ(by_id[returned.rental_id()].status(), view::v1::RENTAL_STATE_RETURNED);
  EXPECT_EQ(by_id[returned.rental_id()].amount_paid().amount_minor(), 2000);

  // The refund and the fee come from the payment service's events, later.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  view::v1::RentalStatusView status;
  while (absl::Now() < deadline) {
    view::v1::GetRentalStatusRequest sreq;
    sreq.set_rental_id(cancelled.rental_id());
    grpc::ClientContext sctx;
    WithDeadline(sctx, absl::Seconds(5));
    if (view_stub->GetRentalStatus(&sctx, sreq, &status).ok() &&
        status.rental().refund().amount_minor() == 2000) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.rental().refund().amount_minor(), 2000);
  std::vector<std::string> types;
  for (const auto& e : status.timeline()) types.push_back(e.event_type());
  EXPECT_NE(std::find(types.begin(), types.end(), "RentalCancelled"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "PaymentRefunded"), types.end());
}

}  // namespace
}  // namespace rentmesh::e2e
