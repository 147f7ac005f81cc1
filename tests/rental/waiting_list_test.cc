// The waiting list of holds (HoldBook with wait_if_unavailable, HoldQueued,
// HoldGranted) through the real core on the in-memory log.
#include <gtest/gtest.h>

#include "fakes.h"
#include "rental/core/rental_service.h"
#include "rental_core_test.h"

namespace rentmesh::rental {
namespace {

using domain::RentalStatus;

class WaitingListTest : public testing::RentalCoreTest {
 protected:
  WaitingListTest() : RentalCoreTest(Config()) {}

  static RentalServiceConfig Config() {
    RentalServiceConfig c;
    c.hold_duration = absl::Minutes(30);
    return c;
  }

  absl::StatusOr<domain::Rental> Wait(const std::string& customer, const std::string& book,
                                      const std::string& request_id) {
    return service_.HoldBook({customer, book, request_id, /*wait_if_unavailable=*/true}, ctx_);
  }
  domain::Rental Get(const std::string& id) {
    auto r = service_.GetRental(id, ctx_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : domain::Rental{};
  }
  // The customer's hold as ListHolds answers it.
  domain::Rental Listed(const std::string& customer, const std::string& id) {
    auto holds = service_.ListHolds(customer, ctx_);
    EXPECT_TRUE(holds.ok()) << holds.status();
    if (holds.ok()) {
      for (const auto& h : *holds) {
        if (h.rental_id == id) return h;
      }
    }
    ADD_FAILURE() << id << " not listed for " << customer;
    return {};
  }
  size_t CountEvents(const std::function<bool(const domain::BookEvent&)>& pred) {
    size_t n = 0;
    for (const auto& e : store_.events()) n += pred(e) ? 1 : 0;
    return n;
  }
  size_t Grants() {
    return CountEvents(
        [](const domain::BookEvent& e) { return std::holds_alternative<domain::HoldGranted>(e); });
  }
};

TEST_F(WaitingListTest, WithoutTheOptInNoFreeCopyIsStillFailedPrecondition) {
  AddBook("dune", 1);
  ASSERT_TRUE(service_.HoldBook({"alice", "dune", "h-1"}, ctx_).ok());
  EXPECT_EQ(service_.HoldBook({"bob", "dune", "h-2"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(WaitingListTest, AFreeCopyIsHeldAtOnceEvenWithTheOptIn) {
  AddBook("dune", 1);
  auto h = Wait("alice", "dune", "h-1");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, RentalStatus::kHeld);
  EXPECT_EQ(h->queue_position, 0);
}

TEST_F(WaitingListTest, WaitingHoldsGetTheirPlaceAndARetryWithTheSameRequestIdQueuesOnce) {
  AddBook("dune", 1);
  ASSERT_TRUE(Wait("alice", "dune", "h-1").ok());
  auto bob = Wait("bob", "dune", "h-2");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(bob->queue_position, 1);
  EXPECT_TRUE(bob->is_hold());
  auto carol = Wait("carol", "dune", "h-3");
  ASSERT_TRUE(carol.ok()) << carol.status();
  EXPECT_EQ(carol->queue_position, 2);
  EXPECT_EQ(Available("dune"), 0) << "a waiting hold keeps no copy";
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);

  const size_t events = store_.event_count();
  auto retry = Wait("bob", "dune", "h-2");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->rental_id, bob->rental_id);
  EXPECT_EQ(retry->status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(retry->queue_position, 1);
  EXPECT_EQ(store_.event_count(), events) << "a retry wrote again";
  EXPECT_EQ(service_.GetBook("dune", ctx_)->waiting.size(), 2u);
  EXPECT_EQ(Wait("bob", "other", "h-2").status().code(), absl::StatusCode::kAlreadyExists);

  // ListHolds shows it with its place.
  domain::Rental listed = Listed("carol", carol->rental_id);
  EXPECT_EQ(listed.status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(listed.queue_position, 2);
  // A waiting hold cannot be rented yet.
  EXPECT_EQ(service_.RentBook({"bob", "", 3, "", bob->rental_id}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(WaitingListTest, CopiesComingBackAreGrantedFirstComeFirstServedWithAFreshExpiry) {
  AddBook("dune", 2);
  auto r1 = service_.RentBook({"x", "dune", 3, "r-1"}, ctx_);
  auto r2 = service_.RentBook({"y", "dune", 3, "r-2"}, ctx_);
  ASSERT_TRUE(r1.ok() && r2.ok());
  auto a = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  auto c = Wait("carol", "dune", "h-3");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());

  clock_.Advance(absl::Minutes(10));
  ASSERT_TRUE(service_.ReturnBook({r2->rental_id, false, "ret-2"}, ctx_).ok());
  domain::Rental alice = Get(a->rental_id);
  EXPECT_EQ(alice.status, RentalStatus::kHeld) << "the oldest waiting hold gets the copy";
  EXPECT_EQ(alice.hold_expires_at, clock_.Now() + absl::Minutes(30)) << "from the grant";
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(Listed("bob", b->rental_id).queue_position, 1);
  EXPECT_EQ(Listed("carol", c->rental_id).queue_position, 2);
  EXPECT_EQ(Available("dune"), 0);

  // A copy free is not taken by a newcomer while holds wait.
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(service_.CancelRental({r1->rental_id, "", "c-1"}, ctx_).ok());
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Get(c->rental_id).status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(Listed("carol", c->rental_id).queue_position, 1);
  EXPECT_EQ(Grants(), 2u);

  // The granted hold rents like any other.
  auto rented = service_.RentBook({"alice", "", 3, "", a->rental_id}, ctx_);
  ASSERT_TRUE(rented.ok()) << rented.status();
  EXPECT_EQ(rented->status, RentalStatus::kRented);
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 2);
}

TEST_F(WaitingListTest, AReleasedWaitingHoldLeavesTheListAndKeepsNothing) {
  AddBook("dune", 1);
  auto first = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  auto c = Wait("carol", "dune", "h-3");
  ASSERT_TRUE(first.ok() && b.ok() && c.ok());
  auto released = service_.ReleaseHold({b->rental_id, "changed my mind", "rel-1"}, ctx_);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->status, RentalStatus::kHoldReleased);
  EXPECT_EQ(Available("dune"), 0) << "releasing a waiting hold frees no copy";
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);
  EXPECT_EQ(Listed("carol", c->rental_id).queue_position, 1);
  // A retry gets the released hold.
  auto retry = service_.ReleaseHold({b->rental_id, "changed my mind", "rel-1"}, ctx_);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->status, RentalStatus::kHoldReleased);

  // The next copy goes to carol, not to the released hold.
  ASSERT_TRUE(service_.ReleaseHold({first->rental_id, "", "rel-2"}, ctx_).ok());
  EXPECT_EQ(Get(c->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldReleased);
  EXPECT_EQ(Grants(), 1u);
}

TEST_F(WaitingListTest, ACopyReturningWhileTwoWaitGoesToOneOnlyOnce) {
  AddBook("dune", 1);
  auto r = service_.RentBook({"x", "dune", 3, "r-1"}, ctx_);
  ASSERT_TRUE(r.ok());
  auto a = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(service_.ReturnBook({r->rental_id, false, "ret-1"}, ctx_).ok());
  EXPECT_EQ(Get(a->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldWaiting);
  // The reconciler (of this or another replica) finds nothing more to grant.
  EXPECT_EQ(*service_.GrantWaitingHolds(ctx_), 0);
  EXPECT_EQ(Grants(), 1u);
  EXPECT_EQ(Available("dune"), 0);

  // A second grant that slipped into the log (no expected-sequence check)
  // and a grant of the second waiting hold while no copy is free change
  // nothing.
  const size_t ignored = store_.ignored_count();
  store_.AppendUnchecked(
      domain::HoldGranted{a->rental_id, "dune", "alice", clock_.Now() + absl::Hours(1)},
      clock_.Now());
  store_.AppendUnchecked(
      domain::HoldGranted{b->rental_id, "dune", "bob", clock_.Now() + absl::Hours(1)},
      clock_.Now());
  EXPECT_EQ(store_.ignored_count(), ignored + 2);
  EXPECT_EQ(Get(a->rental_id).hold_expires_at, clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(service_.GetBook("dune", ctx_)->active_rentals, 1);
}

TEST_F(WaitingListTest, AGrantOutOfOrderDoesNotApplyAndTheReconcilerGrantsTheHead) {
  AddBook("dune", 1);
  auto r = service_.RentBook({"x", "dune", 3, "r-1"}, ctx_);
  auto a = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  ASSERT_TRUE(r.ok() && a.ok() && b.ok());
  // The copy comes back, and the process dies before it grants anything.
  store_.AppendUnchecked(domain::BookReturned{r->rental_id, "dune", "x", "ret-x", clock_.Now(),
                                              domain::Money{"KRW", 0}, "ret-1"},
                         clock_.Now());
  EXPECT_EQ(Available("dune"), 1);
  // A newcomer cannot take it, nor can bob jump the queue.
  EXPECT_EQ(service_.RentBook({"z", "dune", 3, "r-2"}, ctx_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const size_t ignored = store_.ignored_count();
  store_.AppendUnchecked(
      domain::HoldGranted{b->rental_id, "dune", "bob", clock_.Now() + absl::Minutes(30)},
      clock_.Now());
  EXPECT_EQ(store_.ignored_count(), ignored + 1);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldWaiting);

  // The reconciler of any replica grants the head.
  EXPECT_EQ(*service_.GrantWaitingHolds(ctx_), 1);
  EXPECT_EQ(Get(a->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(*service_.GrantWaitingHolds(ctx_), 0);
}

TEST_F(WaitingListTest, AGrantedHoldThatLapsesPassesTheCopyToTheNext) {
  AddBook("dune", 1);
  auto first = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  auto c = Wait("carol", "dune", "h-3");
  ASSERT_TRUE(first.ok() && b.ok() && c.ok());
  ASSERT_TRUE(service_.ReleaseHold({first->rental_id, "", "rel-1"}, ctx_).ok());
  ASSERT_EQ(Get(b->rental_id).status, RentalStatus::kHeld);

  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(*service_.ExpireHolds(ctx_), 1);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHoldExpired);
  EXPECT_EQ(*service_.GrantWaitingHolds(ctx_), 1);
  domain::Rental carol = Get(c->rental_id);
  EXPECT_EQ(carol.status, RentalStatus::kHeld);
  EXPECT_EQ(carol.hold_expires_at, clock_.Now() + absl::Minutes(30));
  EXPECT_EQ(Available("dune"), 0);
  EXPECT_TRUE(service_.GetBook("dune", ctx_)->waiting.empty());

  // With nobody waiting, the copy that comes back is free for anyone.
  clock_.Advance(absl::Minutes(31));
  EXPECT_EQ(*service_.ExpireHolds(ctx_), 1);
  EXPECT_EQ(*service_.GrantWaitingHolds(ctx_), 0);
  EXPECT_EQ(Available("dune"), 1);
  EXPECT_TRUE(service_.RentBook({"z", "dune", 3, "r-9"}, ctx_).ok());
}

TEST_F(WaitingListTest, AddedStockIsGrantedToTheWaitingHolds) {
  AddBook("dune", 1);
  auto first = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  auto c = Wait("carol", "dune", "h-3");
  ASSERT_TRUE(first.ok() && b.ok() && c.ok());
  auto stocked = service_.StockBook({"dune", 3, "s-1"}, ctx_);
  ASSERT_TRUE(stocked.ok()) << stocked.status();
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Get(c->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Available("dune"), 1);
  EXPECT_EQ(Grants(), 2u);
}

TEST_F(WaitingListTest, ADeclinedPaymentOfAGrantedHoldPassesTheCopyOn) {
  AddBook("dune", 1);
  auto first = Wait("alice", "dune", "h-1");
  auto b = Wait("bob", "dune", "h-2");
  ASSERT_TRUE(first.ok() && b.ok());
  payment_.set_limit(100);
  auto declined = service_.RentBook({"alice", "", 3, "", first->rental_id}, ctx_);
  EXPECT_EQ(declined.status().code(), absl::StatusCode::kFailedPrecondition) << declined.status();
  EXPECT_EQ(Get(first->rental_id).status, RentalStatus::kRejected);
  EXPECT_EQ(Get(b->rental_id).status, RentalStatus::kHeld);
  EXPECT_EQ(Available("dune"), 0);
}

}  // namespace
}  // namespace rentmesh::rental
