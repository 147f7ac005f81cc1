#include "rental/core/rental_service.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "rental_core_test.h"

namespace rentmesh::rental {
namespace {

using domain::RentalStatus;

class RentalServiceTest : public testing::RentalCoreTest {
 protected:
  RentalServiceTest() : RentalCoreTest(Config()) {}

  static RentalServiceConfig Config() {
    RentalServiceConfig c;
    c.cancel_window = absl::Hours(24);
    c.reconcile_after = absl::Seconds(10);
    return c;
  }

  absl::StatusOr<domain::Rental> Rent(const std::string& customer, const std::string& book,
                                      int days = 3, const std::string& request_id = "") {
    return service_.RentBook({customer, book, days, request_id}, ctx_);
  }
};

TEST_F(RentalServiceTest, AddBookIsIdempotentAndRejectsTheSameIdWithOtherDetails) {
  AddBook("dune", 2);
  AddBook("dune", 2);
  EXPECT_EQ(store_.event_count(), 1u);
  auto other = service_.AddBook({"dune", "Another title", 2, {"KRW", 1000}}, ctx_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  auto book = service_.GetBook("dune", ctx_);
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(book->copies, 2);
  EXPECT_EQ(book->copies_available(), 2);
}

TEST_F(RentalServiceTest, RentBookChargesDailyFeeTimesDaysAndRecordsTheRental) {
  AddBook("dune", 2, 1500);
  auto r = Rent("alice", "dune", 3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, RentalStatus::kRented);
  EXPECT_EQ(r->fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(r->payment_id, "pay-" + r->rental_id);
  EXPECT_EQ(r->due_at, clock_.Now() + absl::Hours(72));
  EXPECT_EQ(payment_.charged().at(r->rental_id), 4500);
  EXPECT_EQ(Available("dune"), 1);
}

TEST_F(RentalServiceTest, RentBookFailsWithFailedPreconditionWhenNoCopyIsLeft) {
  AddBook("dune", 1);
  ASSERT_TRUE(Rent("alice", "dune").ok());
  auto second = Rent("bob", "dune");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(payment_.calls(), 1);
}

TEST_F(RentalServiceTest, DeclinedPaymentRecordsNoRentalAndReleasesTheCopy) {
  AddBook("dune", 1, 1000);
  payment_.set_limit(500);
  auto r = Rent("alice", "dune", 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("per-payment limit"), std::string::npos) << r.status();
  EXPECT_EQ(Available("dune"), 1);
  EXPECT_TRUE(payment_.charged().empty());
}

TEST_F(RentalServiceTest, PaymentDownAnswersUnavailableAndARetryWithTheSameRequestIdCompletes) {
  AddBook("dune", 1);
  payment_.Fail(absl::UnavailableError("connection refused"));
  auto first = Rent("alice", "dune", 2, "req-1");
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(first.status().message().find("try again shortly"), std::string::npos);
  // The copy is held for the retry, nothing is charged yet.
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_TRUE(payment_.charged().empty());

  payment_.Recover();
  auto retry = Rent("alice", "dune", 2, "req-1");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->status, RentalStatus::kRented);
  EXPECT_EQ(payment_.charged().size(), 1u);
}

TEST_F(RentalServiceTest, RetryingAFinishedRentReturnsTheFirstResultWithoutASecondCharge) {
  AddBook("dune", 3);
  auto a = Rent("alice", "dune", 2, "req-1");
  auto b = Rent("alice", "dune", 2, "req-1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rental_id, b->rental_id);
  EXPECT_EQ(Available("dune"), 2);
  EXPECT_EQ(payment_.charged().size(), 1u);
  auto misuse = Rent("alice", "dune", 5, "req-1");
  EXPECT_EQ(misuse.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RentalServiceTest, OpenCircuitAnswersUnavailableWithoutReservingAnything) {
  AddBook("dune", 1);
  size_t events = store_.event_count();
  payment_.set_accepting(false);
  auto r = Rent("alice", "dune");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.event_count(), events);
  EXPECT_EQ(payment_.calls(), 0);
}

TEST_F(RentalServiceTest, ReconcilerCompletesAStaleReservationWhosePaymentWasApproved) {
  AddBook("dune", 1);
  payment_.Fail(absl::DeadlineExceededError("slow"));
  ASSERT_EQ(Rent("alice", "dune", 1, "req-1").status().code(), absl::StatusCode::kUnavailable);
  payment_.Recover();
  // Not stale yet: left alone.
  EXPECT_EQ(*service_.ReconcilePending(ctx_), 0);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(*service_.ReconcilePending(ctx_), 1);
  auto r = service_.GetRental("rent-alice~req-1", ctx_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, RentalStatus::kRented);
  EXPECT_EQ(payment_.charged().size(), 1u);
}

TEST_F(RentalServiceTest, ReconcilerAbandonsAStaleReservationWhilePaymentIsDown) {
  AddBook("dune", 1);
  payment_.Fail(absl::UnavailableError("down"));
  ASSERT_EQ(Rent("alice", "dune", 1, "req-1").status().code(), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(*service_.ReconcilePending(ctx_), 1);
  auto r = service_.GetRental("rent-alice~req-1", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, RentalStatus::kAborted);
  EXPECT_EQ(Available("dune"), 1);
  // A retry of the abandoned attempt says so and charges nothing.
  payment_.Recover();
  auto retry = Rent("alice", "dune", 1, "req-1");
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(retry.status().message().find("new request_id"), std::string::npos);
}

TEST_F(RentalServiceTest, BadInputIsRejectedWithInvalidArgumentAndWritesNothing) {
  AddBook("dune", 1);
  size_t events = store_.event_count();
  EXPECT_EQ(Rent("", "dune").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "du ne").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "dune", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "dune", -3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "dune", 1000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "rental.>").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rent("alice", "nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.AddBook({"b", "t", 0, {"KRW", 1}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddBook({"b", "t", 1000000, {"KRW", 1}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddBook({"b", "t", 1, {"KRW", -5}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddBook({"b", "t", 1, {"KRW", 1LL << 40}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddBook({"b", "t", 1, {"krw", 10}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddBook({"b", "   ", 1, {"KRW", 10}}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.StockBook({"dune", 1, ""}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.GetRental("", ctx_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.GetRental("missing", ctx_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.event_count(), events);
  EXPECT_EQ(payment_.calls(), 0);
}

TEST_F(RentalServiceTest, StockBookAddsCopiesOncePerRequestId) {
  AddBook("dune", 1);
  ASSERT_TRUE(service_.StockBook({"dune", 4, "delivery-1"}, ctx_).ok());
  auto again = service_.StockBook({"dune", 4, "delivery-1"}, ctx_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->copies, 5);
  EXPECT_EQ(service_.StockBook({"nope", 4, "d"}, ctx_).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RentalServiceTest, ReturnBookRecordsTheLateFeeAndFreesTheCopy) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune", 2);
  ASSERT_TRUE(r.ok());
  clock_.Advance(absl::Hours(24 * 2 + 30));  // 30 hours late: 2 started days
  auto returned = service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_);
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->status, RentalStatus::kReturned);
  EXPECT_EQ(returned->late_fee, (domain::Money{"KRW", 1000}));
  EXPECT_EQ(Available("dune"), 1);
  // The same request again is the same result; another return is illegal.
  auto retry = service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->version, returned->version);
  EXPECT_EQ(service_.ReturnBook({r->rental_id, false, "ret-2"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.CancelRental({r->rental_id, "late", "c-1"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RentalServiceTest, ReturnsDownLeavesTheRentalRentedAndAnswersUnavailable) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune");
  ASSERT_TRUE(r.ok());
  returns_.Fail(absl::UnavailableError("down"));
  auto ret = service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_);
  EXPECT_EQ(ret.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.GetRental(r->rental_id, ctx_)->status, RentalStatus::kRented);
  returns_.Recover();
  EXPECT_TRUE(service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_).ok());
}

TEST_F(RentalServiceTest, CancelWithinTheWindowFreesTheCopyAndCannotBeRepeated) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune");
  ASSERT_TRUE(r.ok());
  clock_.Advance(absl::Hours(2));
  auto c = service_.CancelRental({r->rental_id, "changed my mind", "c-1"}, ctx_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, RentalStatus::kCancelled);
  EXPECT_EQ(c->cancel_reason, "changed my mind");
  EXPECT_EQ(Available("dune"), 1);
  EXPECT_TRUE(service_.CancelRental({r->rental_id, "changed my mind", "c-1"}, ctx_).ok());
  EXPECT_EQ(service_.CancelRental({r->rental_id, "again", "c-2"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.ReturnBook({r->rental_id, false, "r"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RentalServiceTest, CancelAfterTheWindowIsRefused) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune");
  ASSERT_TRUE(r.ok());
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(service_.CancelRental({r->rental_id, "", "c-1"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_.GetRental(r->rental_id, ctx_)->status, RentalStatus::kRented);
}

TEST_F(RentalServiceTest, CustomersActOnlyOnTheirOwnRentalsAndOnlyLibrariansManageBooks) {
  CallContext alice;
  alice.actor = Actor::Customer("alice");
  CallContext librarian;
  librarian.actor = Actor::Librarian("lib");
  EXPECT_EQ(service_.AddBook({"dune", "Dune", 1, {"KRW", 100}}, alice).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_.AddBook({"dune", "Dune", 2, {"KRW", 100}}, librarian).ok());
  EXPECT_EQ(service_.RentBook({"bob", "dune", 1, ""}, alice).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto r = service_.RentBook({"alice", "dune", 1, ""}, alice);
  ASSERT_TRUE(r.ok());
  CallContext bob;
  bob.actor = Actor::Customer("bob");
  EXPECT_EQ(service_.GetRental(r->rental_id, bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.CancelRental({r->rental_id, "", ""}, bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(service_.GetRental(r->rental_id, librarian).ok());
}

TEST_F(RentalServiceTest, LogUnavailableAnswersUnavailable) {
  AddBook("dune", 1);
  store_.set_append_error(absl::UnavailableError("nats down"));
  auto r = Rent("alice", "dune");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(payment_.calls(), 0);
}

// --- folds that do not rest on the log's expected-sequence check (a JetStream
// cluster can store a retried append beside the attempt it replaced) ---

TEST_F(RentalServiceTest, ASecondCancelThatSlippedIntoTheLogChangesNothing) {
  AddBook("dune", 2);
  auto r = Rent("alice", "dune", 3, "req-1");
  ASSERT_TRUE(r.ok()) << r.status();
  auto cancelled = service_.CancelRental({r->rental_id, "changed my mind", "c-1"}, ctx_);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(Available("dune"), 2);
  // The same cancel stored a second time (a retry with a new message id).
  store_.AppendUnchecked(domain::RentalCancelled{r->rental_id, "dune", "alice", "again",
                                                 clock_.Now(), r->payment_id, r->fee, "c-2"},
                         clock_.Now());
  EXPECT_EQ(store_.ignored_count(), 1u);
  EXPECT_EQ(Available("dune"), 2) << "the copy was put back twice";
  auto after = service_.GetRental(r->rental_id, ctx_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->transition_request_id, "c-1");
}

TEST_F(RentalServiceTest, AReservationBeyondTheCopiesThatSlippedIntoTheLogReservesNothing) {
  AddBook("dune", 1);
  ASSERT_TRUE(Rent("alice", "dune", 3, "a").ok());
  store_.AppendUnchecked(
      domain::RentalRequested{"rent-x", "dune", "bob", 3, {"KRW", 3000}, "b", "Title dune"},
      clock_.Now());
  EXPECT_EQ(store_.ignored_count(), 1u);
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);
  EXPECT_EQ(service_.GetRental("rent-x", ctx_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RentalServiceTest, ACancelThatLostToAReturnAnswersFailedPreconditionNotOk) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune", 3, "a");
  ASSERT_TRUE(r.ok());
  // Both decided on RENTED; the return landed first.
  store_.set_ignore_expected_sequence(true);
  store_.AppendUnchecked(
      domain::BookReturned{
          r->rental_id, "dune", "alice", "ret-1", clock_.Now(), {"KRW", 0}, "ret-req"},
      clock_.Now());
  // The cancel's own decision read the state before the return (as a lagging
  // replica would): simulate by appending it unchecked and asking for it.
  store_.AppendUnchecked(domain::RentalCancelled{r->rental_id, "dune", "alice", "x", clock_.Now(),
                                                 r->payment_id, r->fee, "c-1"},
                         clock_.Now());
  auto again = service_.CancelRental({r->rental_id, "x", "c-1"}, ctx_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  auto after = service_.GetRental(r->rental_id, ctx_);
  EXPECT_EQ(after->status, RentalStatus::kReturned);
  EXPECT_EQ(Available("dune"), 1);
}

TEST_F(RentalServiceTest, ANoCopyAnswerIsRecordedSoALateReservationOfTheSameRequestNeverApplies) {
  AddBook("dune", 1);
  ASSERT_TRUE(Rent("alice", "dune", 3, "a").ok());
  auto refused = Rent("bob", "dune", 3, "b-1");
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  const std::string bob_rental = ids_.DerivedId("rent-", {"bob", "b-1"});
  auto recorded = store_.GetRental(bob_rental);
  ASSERT_TRUE(recorded.ok() && recorded->has_value());
  EXPECT_EQ((*recorded)->status, RentalStatus::kRefused);

  // Bob's earlier, timed-out attempt lands late in the log.
  store_.AppendUnchecked(
      domain::RentalRequested{bob_rental, "dune", "bob", 3, {"KRW", 3000}, "b-1", "Title dune"},
      clock_.Now());
  EXPECT_EQ(store_.ignored_count(), 1u);
  EXPECT_EQ(Available("dune"), 0);
  // The retry gets the same definite answer, and nothing was charged for it.
  auto retry = Rent("bob", "dune", 3, "b-1");
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(payment_.charged().count(bob_rental), 0u);
  auto page = service_.ReconcilePending(ctx_);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(payment_.charged().count(bob_rental), 0u);
}

TEST_F(RentalServiceTest, WithoutARequestIdTheCallsXRequestIdMakesAProxyRetrySafe) {
  AddBook("dune", 3);
  // A mesh proxy retries with the x-request-id of the first attempt.
  ctx_.trace["x-request-id"] = "0f8e2c4a-proxy-attempt";
  auto first = Rent("alice", "dune", 2);
  auto retry = Rent("alice", "dune", 2);
  ASSERT_TRUE(first.ok() && retry.ok()) << first.status() << " " << retry.status();
  EXPECT_EQ(first->rental_id, retry->rental_id);
  EXPECT_EQ(first->request_id, "0f8e2c4a-proxy-attempt");
  EXPECT_EQ(payment_.charged().size(), 1u);
  EXPECT_EQ(Available("dune"), 2);
  // Another call (another x-request-id) is another rental; an explicit
  // request_id wins over the header.
  ctx_.trace["x-request-id"] = "another-call";
  auto second = Rent("alice", "dune", 2);
  auto explicit_id = Rent("alice", "dune", 2, "req-explicit");
  ASSERT_TRUE(second.ok() && explicit_id.ok());
  EXPECT_NE(second->rental_id, first->rental_id);
  EXPECT_EQ(explicit_id->request_id, "req-explicit");
  EXPECT_EQ(payment_.charged().size(), 3u);
  EXPECT_EQ(Available("dune"), 0);
  // A header that is no usable id is ignored: each call stays a new rental.
  AddBook("emma", 2);
  ctx_.trace["x-request-id"] = "has spaces";
  auto a = Rent("bob", "emma", 1);
  auto b = Rent("bob", "emma", 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->rental_id, b->rental_id);
}

TEST_F(RentalServiceTest, WithoutARequestIdAPaymentOutageFreesTheCopyAtOnce) {
  AddBook("dune", 1);
  payment_.Fail(absl::UnavailableError("payment down"));
  auto r = Rent("alice", "dune", 3);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(Available("dune"), 1) << "nobody can resume a reservation without a request_id";
  payment_.Recover();
  EXPECT_TRUE(Rent("bob", "dune", 3).ok());
}

TEST_F(RentalServiceTest, WithARequestIdTheReservationWaitsForTheRetryThenTheReconcilerFreesIt) {
  AddBook("dune", 1);
  payment_.Fail(absl::UnavailableError("payment down"));
  auto r = Rent("alice", "dune", 3, "a-1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Available("dune"), 0);
  clock_.Advance(Config().reconcile_after + absl::Seconds(1));
  auto settled = service_.ReconcilePending(ctx_);
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, 1);
  EXPECT_EQ(Available("dune"), 1);
}
// Another replica's reservation of the last copy lands first, and the
// cluster stores ours too: ours does not take effect, and the request is
// decided again on the new state (a definite, recorded "no copy").
TEST_F(RentalServiceTest, AReservationThatLostTheRaceIsDecidedAgainNotAnsweredAsDone) {
  AddBook("dune", 1);
  store_.set_ignore_expected_sequence(true);
  store_.BeforeNextAppend([&](testing::InMemoryRentalStore& s) {
    s.AppendLocked(
        domain::RentalRequested{"rent-other", "dune", "bob", 3, {"KRW", 3000}, "b", "Title dune"},
        clock_.Now());
  });
  auto r = Rent("alice", "dune", 3, "a-1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(store_.ignored_count(), 1u);
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_EQ(payment_.calls(), 0);
  auto refused = store_.GetRental(ids_.DerivedId("rent-", {"alice", "a-1"}));
  ASSERT_TRUE(refused.ok() && refused->has_value());
  EXPECT_EQ((*refused)->status, RentalStatus::kRefused);
}

TEST_F(RentalServiceTest, ACancelThatLostTheRaceToAReturnIsRefusedAndRefundsNothing) {
  AddBook("dune", 1);
  auto r = Rent("alice", "dune", 3, "a");
  ASSERT_TRUE(r.ok());
  store_.set_ignore_expected_sequence(true);
  store_.BeforeNextAppend([&](testing::InMemoryRentalStore& s) {
    s.AppendLocked(
        domain::BookReturned{
            r->rental_id, "dune", "alice", "ret-1", clock_.Now(), {"KRW", 0}, "ret-req"},
        clock_.Now());
  });
  auto cancelled = service_.CancelRental({r->rental_id, "x", "c-1"}, ctx_);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kFailedPrecondition) << cancelled.status();
  EXPECT_EQ(service_.GetRental(r->rental_id, ctx_)->status, RentalStatus::kReturned);
  EXPECT_EQ(Available("dune"), 1);
}

// --- pricing tiers ---

class RentalPricingTest : public ::testing::Test {
 protected:
  RentalPricingTest()
      : clock_(absl::FromUnixSeconds(1767225600)),
        returns_(clock_),
        service_(Config(), store_, store_, payment_, returns_, ids_, clock_, failpoints_) {
    auto b = service_.AddBook({"dune", "Dune", 3, {"KRW", 1500}}, internal_);
    EXPECT_TRUE(b.ok()) << b.status();
  }
  static RentalServiceConfig Config() {
    RentalServiceConfig c;
    c.tiers = *domain::TierPolicy::Parse("vip:20,gold:10");
    return c;
  }

  ManualClock clock_;
  testing::InMemoryRentalStore store_;
  testing::FakePaymentGateway payment_;
  testing::FakeReturnsGateway returns_;
  testing::CountingIdGenerator ids_;
  Failpoints failpoints_;
  RentalService service_;
  CallContext internal_;
  CallContext librarian_{absl::InfiniteFuture(), {}, Actor::Librarian("lib")};
  CallContext alice_{absl::InfiniteFuture(), {}, Actor::Customer("alice")};
};

TEST_F(RentalPricingTest, ACustomerWithoutATierPaysTheBaseFee) {
  auto r = service_.RentBook({"alice", "dune", 3, "r-1"}, alice_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tier, "standard");
  EXPECT_EQ(r->discount_percent, 0);
  EXPECT_EQ(r->base_fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(r->discount, (domain::Money{"KRW", 0}));
  EXPECT_EQ(r->fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(payment_.charged().at(r->rental_id), 4500);
}

TEST_F(RentalPricingTest, ATierSetByALibrarianPricesTheNextRentalWithItsDiscount) {
  auto t = service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->tier, "vip");
  EXPECT_EQ(t->discount_percent, 20);
  EXPECT_EQ(t->record.set_by, "lib");
  auto r = service_.RentBook({"alice", "dune", 3, "r-1"}, alice_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tier, "vip");
  EXPECT_EQ(r->discount_percent, 20);
  EXPECT_EQ(r->base_fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(r->discount, (domain::Money{"KRW", 900}));
  EXPECT_EQ(r->fee, (domain::Money{"KRW", 3600}));
  EXPECT_EQ(payment_.charged().at(r->rental_id), 3600);
  // The customer reads their own tier.
  auto mine = service_.GetCustomerTier("alice", alice_);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->tier, "vip");
}

TEST_F(RentalPricingTest, ChangingTheTierLaterNeverRepricesARentalAlreadyMade) {
  ASSERT_TRUE(service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_).ok());
  auto first = service_.RentBook({"alice", "dune", 3, "r-1"}, alice_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(service_.SetCustomerTier({"alice", "gold", "t-2"}, librarian_).ok());
  auto again = service_.GetRental(first->rental_id, alice_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->fee, (domain::Money{"KRW", 3600}));
  EXPECT_EQ(again->tier, "vip");
  // A retry of the first rent answers its first price and charges nothing more.
  auto retry = service_.RentBook({"alice", "dune", 3, "r-1"}, alice_);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->fee, (domain::Money{"KRW", 3600}));
  EXPECT_EQ(payment_.calls(), 1);
  auto second = service_.RentBook({"alice", "dune", 3, "r-2"}, alice_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->tier, "gold");
  EXPECT_EQ(second->fee, (domain::Money{"KRW", 4050}));
}

TEST_F(RentalPricingTest, CancellingCarriesWhatWasChargedForTheRefund) {
  ASSERT_TRUE(service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_).ok());
  auto r = service_.RentBook({"alice", "dune", 3, "r-1"}, alice_);
  ASSERT_TRUE(r.ok());
  auto c = service_.CancelRental({r->rental_id, "changed my mind", "c-1"}, alice_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, RentalStatus::kCancelled);
  EXPECT_EQ(c->fee.amount_minor, payment_.charged().at(r->rental_id));
}

TEST_F(RentalPricingTest, TheLateFeeGetsTheDiscountTheRentalRecorded) {
  ASSERT_TRUE(service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_).ok());
  auto r = service_.RentBook({"alice", "dune", 2, "r-1"}, alice_);
  ASSERT_TRUE(r.ok());
  // Demoted after renting: the rental keeps its 20%.
  ASSERT_TRUE(service_.SetCustomerTier({"alice", "standard", "t-2"}, librarian_).ok());
  clock_.Advance(absl::Hours(24 * 2 + 30));  // 2 started days late: 1000 before the discount
  auto returned = service_.ReturnBook({r->rental_id, false, "ret-1"}, alice_);
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->late_fee, (domain::Money{"KRW", 800}));
}

TEST_F(RentalPricingTest, OnlyALibrarianMaySetATier) {
  auto denied = service_.SetCustomerTier({"alice", "vip", "t-1"}, alice_);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  CallContext bob{absl::InfiniteFuture(), {}, Actor::Customer("bob")};
  EXPECT_EQ(service_.GetCustomerTier("alice", bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto r = service_.RentBook({"alice", "dune", 1, "r-1"}, alice_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->discount_percent, 0);
}

TEST_F(RentalPricingTest, BadTierInputIsInvalidArgumentAndWritesNothing) {
  const size_t before = store_.event_count();
  EXPECT_EQ(service_.SetCustomerTier({"alice", "platinum", "t-1"}, librarian_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.SetCustomerTier({"alice", "VIP", "t-1"}, librarian_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.SetCustomerTier({"alice", "", "t-1"}, librarian_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.SetCustomerTier({"", "vip", "t-1"}, librarian_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.SetCustomerTier({"alice", "vip", ""}, librarian_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.event_count(), before);
  EXPECT_EQ(service_.GetCustomerTier("alice", librarian_)->record.version, 0u);
}

TEST_F(RentalPricingTest, SetCustomerTierRetriedWithTheSameRequestIdIsSafe) {
  auto first = service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_);
  ASSERT_TRUE(first.ok());
  auto retry = service_.SetCustomerTier({"alice", "vip", "t-1"}, librarian_);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->record.version, 1u);
  EXPECT_EQ(retry->tier, "vip");
  EXPECT_EQ(service_.SetCustomerTier({"alice", "gold", "t-1"}, librarian_).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(service_.GetCustomerTier("alice", librarian_)->record.version, 1u);
}

}  // namespace
}  // namespace rentmesh::rental
