// Holds (HoldBook, RentBook with a hold id, ReleaseHold, ListHolds, the
// expiry of lapsed holds) through the real core on the in-memory log.
#include <gtest/gtest.h>

#include "fakes.h"
#include "rental/core/rental_service.h"
#include "rental_core_test.h"

namespace rentmesh::rental {
namespace {

using domain::RentalStatus;

class HoldTest : public testing::RentalCoreTest {
 protected:
  HoldTest() : RentalCoreTest(Config()) {}

  static RentalServiceConfig Config() {
    RentalServiceConfig c;
    c.hold_duration = absl::Minutes(30);
    return c;
  }

  absl::StatusOr<domain::Rental> Hold(const std::string& customer, const std::string& book,
                                      const std::string& request_id = "") {
    return service_.HoldBook({customer, book, request_id}, ctx_);
  }
  absl::StatusOr<domain::Rental> RentHold(const std::string& customer, const std::string& hold_id,
                                          int days = 3, const std::string& request_id = "") {
    return service_.RentBook({customer, "", days, request_id, hold_id}, ctx_);
  }
};

TEST_F(HoldTest, WithoutARequestIdTheCallsXRequestIdMakesAProxyRetryKeepOneCopy) {
  AddBook("dune", 2);
  ctx_.trace["x-request-id"] = "hold-attempt-7";
  auto first = Hold("alice", "dune");
  auto retry = Hold("alice", "dune");
  ASSERT_TRUE(first.ok() && retry.ok()) << first.status() << " " << retry.status();
  EXPECT_EQ(first->rental_id, retry->rental_id);
  EXPECT_EQ(Available("dune"), 1);
  ctx_.trace["x-request-id"] = "hold-attempt-8";
  auto other = Hold("alice", "dune");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->rental_id, first->rental_id);
  EXPECT_EQ(Available("dune"), 0);
}

TEST_F(HoldTest, AHoldTakesACopyUntilItsExpiryAndARetryReturnsTheSameHold) {
  AddBook("dune", 2);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, RentalStatus::kHeld);
  EXPECT_TRUE(h->is_hold());
  EXPECT_EQ(h->hold_expires_at, clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(Available("dune"), 1);
  const size_t events = store_.event_count();

  auto retry = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->rental_id, h->rental_id);
  EXPECT_EQ(store_.event_count(), events) << "a retry wrote again";
  EXPECT_EQ(Available("dune"), 1);
  EXPECT_EQ(Hold("alice", "other", "h-1").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(HoldTest, HoldBookFailsWithFailedPreconditionWhenNoCopyIsFreeAndARetryGetsTheSameAnswer) {
  AddBook("dune", 1);
  ASSERT_TRUE(Hold("alice", "dune", "h-1").ok());
  auto none = Hold("bob", "dune", "h-2");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition) << none.status();
  EXPECT_EQ(Hold("carol", "dune").status().code(), absl::StatusCode::kFailedPrecondition);
  // A rental finds no copy either: the hold keeps it.
  EXPECT_EQ(service_.RentBook({"bob", "dune", 3, "r-1"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The refusal was recorded: the same request is refused for good.
  auto again = Hold("bob", "dune", "h-2");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Available("dune"), 0);
}

TEST_F(HoldTest, RentBookWithTheHoldIdRentsTheHeldCopyAndTakesNoSecondOne) {
  AddBook("dune", 1, 1500);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok()) << h.status();
  auto r = RentHold("alice", h->rental_id, 3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, RentalStatus::kRented);
  EXPECT_EQ(r->rental_id, h->rental_id);
  EXPECT_EQ(r->fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(payment_.charged().at(r->rental_id), 4500);
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);

  // A retry returns the rental and charges nothing more.
  const int calls = payment_.calls();
  auto retry = RentHold("alice", h->rental_id, 3);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->status, RentalStatus::kRented);
  EXPECT_EQ(payment_.calls(), calls);
  EXPECT_EQ(RentHold("alice", h->rental_id, 5).status().code(), absl::StatusCode::kAlreadyExists);

  // Returned, the copy is free again (once).
  auto returned = service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_);
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(Available("dune"), 1);
  // The hold shows as rented, and can no longer be released.
  EXPECT_EQ(service_.ReleaseHold({h->rental_id, "", "rel-1"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(HoldTest, ADeclinedPaymentEndsTheHoldAndFreesItsCopy) {
  AddBook("dune", 1, 1000);
  payment_.set_limit(100);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok()) << h.status();
  auto r = RentHold("alice", h->rental_id, 3);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(Available("dune"), 1);
  auto after = service_.GetRental(h->rental_id, ctx_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, RentalStatus::kRejected);
}

TEST_F(HoldTest, WhilePaymentIsUnavailableRentingAHoldChargesNothingAndTheHoldStays) {
  AddBook("dune", 1);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  payment_.set_accepting(false);
  EXPECT_EQ(RentHold("alice", h->rental_id).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.GetRental(h->rental_id, ctx_)->status, RentalStatus::kHeld);
  payment_.set_accepting(true);
  auto r = RentHold("alice", h->rental_id);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, RentalStatus::kRented);
}

TEST_F(HoldTest, ReleaseHoldFreesTheCopyOnceAndARetryReturnsTheReleasedHold) {
  AddBook("dune", 1);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  auto released = service_.ReleaseHold({h->rental_id, "not today", "rel-1"}, ctx_);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->status, RentalStatus::kHoldReleased);
  EXPECT_EQ(released->cancel_reason, "not today");
  EXPECT_EQ(Available("dune"), 1);
  const size_t events = store_.event_count();
  auto retry = service_.ReleaseHold({h->rental_id, "not today", "rel-1"}, ctx_);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(store_.event_count(), events);
  EXPECT_EQ(service_.ReleaseHold({h->rental_id, "", "rel-2"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RentHold("alice", h->rental_id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Available("dune"), 1);
}

TEST_F(HoldTest, ALapsedHoldIsExpiredOnceByTheReconcilerAndCanNoLongerBeRented) {
  AddBook("dune", 1);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  clock_.Advance(absl::Minutes(29));
  EXPECT_EQ(*service_.ExpireHolds(ctx_), 0);
  EXPECT_EQ(Available("dune"), 0);
  clock_.Advance(absl::Minutes(2));
  // Lapsed but not yet recorded: renting it is refused all the same.
  EXPECT_EQ(RentHold("alice", h->rental_id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(payment_.calls(), 0);
  EXPECT_EQ(*service_.ExpireHolds(ctx_), 1);
  EXPECT_EQ(Available("dune"), 1);
  const size_t events = store_.event_count();
  EXPECT_EQ(*service_.ExpireHolds(ctx_), 0);
  EXPECT_EQ(store_.event_count(), events) << "a second expiry was written";
  EXPECT_EQ(service_.GetRental(h->rental_id, ctx_)->status, RentalStatus::kHoldExpired);
  EXPECT_EQ(service_.ReleaseHold({h->rental_id, "", "rel-1"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(HoldTest, ListHoldsShowsTheCustomersHoldsInEveryState) {
  AddBook("dune", 3);
  AddBook("emma", 1);
  auto held = Hold("alice", "dune", "h-1");
  auto released = Hold("alice", "dune", "h-2");
  auto rented = Hold("alice", "emma", "h-3");
  ASSERT_TRUE(held.ok() && released.ok() && rented.ok());
  ASSERT_TRUE(Hold("bob", "dune", "h-1").ok());
  ASSERT_TRUE(service_.ReleaseHold({released->rental_id, "", "rel"}, ctx_).ok());
  ASSERT_TRUE(RentHold("alice", rented->rental_id).ok());
  ASSERT_TRUE(service_.RentBook({"alice", "dune", 3, "r-1"}, ctx_).ok());  // not a hold

  auto list = service_.ListHolds("alice", ctx_);
  ASSERT_TRUE(list.ok()) << list.status();
  std::map<std::string, RentalStatus> by_id;
  for (const auto& h : *list) by_id[h.rental_id] = h.status;
  EXPECT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id[held->rental_id], RentalStatus::kHeld);
  EXPECT_EQ(by_id[released->rental_id], RentalStatus::kHoldReleased);
  EXPECT_EQ(by_id[rented->rental_id], RentalStatus::kRented);
}

TEST_F(HoldTest, CustomersHoldListReleaseAndRentOnlyTheirOwnHolds) {
  AddBook("dune", 2);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  CallContext bob;
  bob.actor = Actor::Customer("bob");
  EXPECT_EQ(service_.HoldBook({"alice", "dune", "h-9"}, bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.ListHolds("alice", bob).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.ReleaseHold({h->rental_id, "", "x"}, bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.RentBook({"bob", "", 3, "", h->rental_id}, bob).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_.RentBook({"bob", "dune", 3, "", h->rental_id}, ctx_).status().code(),
            absl::StatusCode::kPermissionDenied)
      << "another customer named with the hold";
  EXPECT_EQ(service_.GetRental(h->rental_id, ctx_)->status, RentalStatus::kHeld);
  CallContext alice;
  alice.actor = Actor::Customer("alice");
  EXPECT_TRUE(service_.ListHolds("alice", alice).ok());
  EXPECT_TRUE(service_.ReleaseHold({h->rental_id, "", "x"}, alice).ok());
}

TEST_F(HoldTest, BadOrUnknownHoldInputIsRejectedAndWritesNothing) {
  AddBook("dune", 1);
  auto rental = service_.RentBook({"alice", "dune", 3, "r-1"}, ctx_);
  ASSERT_TRUE(rental.ok());
  const size_t events = store_.event_count();
  using C = absl::StatusCode;
  EXPECT_EQ(Hold("", "dune").status().code(), C::kInvalidArgument);
  EXPECT_EQ(Hold("alice", "bad book!").status().code(), C::kInvalidArgument);
  EXPECT_EQ(Hold("alice", "dune", std::string(200, 'x')).status().code(), C::kInvalidArgument);
  EXPECT_EQ(Hold("alice", "nope", "h-1").status().code(), C::kNotFound);
  EXPECT_EQ(service_.ReleaseHold({"", "", ""}, ctx_).status().code(), C::kInvalidArgument);
  EXPECT_EQ(service_.ReleaseHold({"hold-none", "", ""}, ctx_).status().code(), C::kNotFound);
  EXPECT_EQ(service_.ReleaseHold({rental->rental_id, "", ""}, ctx_).status().code(), C::kNotFound)
      << "a rental is not a hold";
  EXPECT_EQ(service_.ReleaseHold({"hold-none", std::string(2000, 'r'), ""}, ctx_).status().code(),
            C::kInvalidArgument);
  EXPECT_EQ(RentHold("alice", "hold-none").status().code(), C::kNotFound);
  EXPECT_EQ(RentHold("alice", "bad hold id").status().code(), C::kInvalidArgument);
  EXPECT_EQ(service_.ListHolds("", ctx_).status().code(), C::kInvalidArgument);
  EXPECT_EQ(store_.event_count(), events);
}

TEST_F(HoldTest, RentingAHoldWithAnotherBookIsInvalidArgument) {
  AddBook("dune", 1);
  AddBook("emma", 1);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(service_.RentBook({"alice", "emma", 3, "", h->rental_id}, ctx_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Available("emma"), 1);
}

// --- folds that do not rest on the log's expected-sequence check ---

TEST_F(HoldTest, ASecondReleaseAndAnExpiryOfARentedHoldThatSlippedIntoTheLogChangeNothing) {
  AddBook("dune", 2);
  auto released = Hold("alice", "dune", "h-1");
  auto rented = Hold("alice", "dune", "h-2");
  ASSERT_TRUE(released.ok() && rented.ok());
  ASSERT_TRUE(service_.ReleaseHold({released->rental_id, "", "rel-1"}, ctx_).ok());
  ASSERT_TRUE(RentHold("alice", rented->rental_id).ok());
  EXPECT_EQ(Available("dune"), 1);
  const size_t ignored = store_.ignored_count();

  store_.AppendUnchecked(
      domain::HoldReleased{released->rental_id, "dune", "alice", "again", "rel-2"}, clock_.Now());
  store_.AppendUnchecked(
      domain::HoldExpired{released->rental_id, "dune", "alice", released->hold_expires_at},
      clock_.Now());
  store_.AppendUnchecked(
      domain::HoldExpired{rented->rental_id, "dune", "alice", rented->hold_expires_at},
      clock_.Now());
  store_.AppendUnchecked(domain::HoldReleased{"hold-never", "dune", "alice", "", "rel-3"},
                         clock_.Now());
  EXPECT_EQ(store_.ignored_count(), ignored + 4);
  EXPECT_EQ(Available("dune"), 1) << "a copy was put back twice";
  EXPECT_EQ(service_.GetRental(released->rental_id, ctx_)->status, RentalStatus::kHoldReleased);
  EXPECT_EQ(service_.GetRental(rented->rental_id, ctx_)->status, RentalStatus::kRented);
}

TEST_F(HoldTest, AHoldBeyondTheCopiesThatSlippedIntoTheLogHoldsNothing) {
  AddBook("dune", 1);
  ASSERT_TRUE(Hold("alice", "dune", "h-1").ok());
  const size_t ignored = store_.ignored_count();
  store_.AppendUnchecked(domain::HoldPlaced{"hold-x", "dune", "bob", "h-x",
                                            clock_.Now() + absl::Minutes(30), "Title dune"},
                         clock_.Now());
  EXPECT_EQ(store_.ignored_count(), ignored + 1);
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);
  EXPECT_EQ(service_.GetRental("hold-x", ctx_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HoldTest, ARentalOfAHoldByAnotherCustomerOrAfterItLapsedConvertsNothing) {
  AddBook("dune", 2);
  auto h = Hold("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok());
  const size_t ignored = store_.ignored_count();
  domain::RentalRequested foreign{h->rental_id, "dune", "bob", 3, {"KRW", 3000}, "b", "Title dune"};
  foreign.hold_id = h->rental_id;
  store_.AppendUnchecked(foreign, clock_.Now());
  domain::RentalRequested late{h->rental_id, "dune", "alice", 3, {"KRW", 3000}, "a", "Title dune"};
  late.hold_id = h->rental_id;
  store_.AppendUnchecked(late, h->hold_expires_at + absl::Seconds(1));
  domain::RentalRequested unnamed{h->rental_id,  "dune", "alice",     3,
                                  {"KRW", 3000}, "a",    "Title dune"};
  store_.AppendUnchecked(unnamed, clock_.Now());
  EXPECT_EQ(store_.ignored_count(), ignored + 3);
  EXPECT_EQ(service_.GetRental(h->rental_id, ctx_)->status, RentalStatus::kHeld);
  EXPECT_EQ(Available("dune"), 1);
}

}  // namespace
}  // namespace rentmesh::rental
