// Holds through the real adapters: HoldPlaced / HoldExpired on RENTAL
// (a real nats-server) folded into each replica's RocksDB. A lapsed hold is
// released by the reconciler of whichever replica gets there first, once,
// also when a replica stops and restarts from its stored state. A copy that
// comes back goes to the oldest waiting hold once, whichever replica grants.
#include <gtest/gtest.h>

#include <thread>

#include "rental_replicas_test.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental {
namespace {

using domain::RentalStatus;

using testing::Replica;

class HoldsIntegrationTest : public testing::RentalReplicasTest {
 protected:
  std::unique_ptr<Replica> Open(const std::string& name) {
    RentalServiceConfig config;
    config.hold_duration = absl::Minutes(30);
    return OpenReplica(name, config);
  }
  // Messages on RENTAL whose event type is `type`.
  int CountEvents(absl::string_view type) {
    absl::StatusOr<uint64_t> last = js_->LastSequence("RENTAL");
    if (!last.ok()) return -1;
    int n = 0;
    for (uint64_t seq = 1; seq <= *last; ++seq) {
      absl::StatusOr<nats::StreamMessage> m = js_->GetMessage("RENTAL", seq);
      if (m.ok() && m->Header(events::kEventTypeHeader) == type) ++n;
    }
    return n;
  }
};

TEST_F(HoldsIntegrationTest, ALapsedHoldIsReleasedOnceAcrossTwoReplicasOneOfThemRestarted) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->service->AddBook({"dune", "Dune", 2, {"KRW", 1500}}, Ctx()).ok());
  std::vector<std::string> holds;
  for (const char* customer : {"alice", "bob"}) {
    auto h = a->service->HoldBook({customer, "dune", "h-1"}, Ctx(Actor::Customer(customer)));
    ASSERT_TRUE(h.ok()) << h.status();
    holds.push_back(h->rental_id);
  }
  // The other replica sees both holds and no copy free.
  auto book = b->service->GetBook("dune", Ctx());
  ASSERT_TRUE(book.ok()) << book.status();
  EXPECT_EQ(book->copies_available(), 0);
  auto listed = b->service->ListHolds("alice", Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().rental_id, holds[0]);

  // Replica a stops before the holds lapse ...
  a.reset();
  clock_.Advance(absl::Minutes(31));
  // ... and comes back from its stored state while b is running: both
  // reconcilers find the lapsed holds at the same moment.
  a = Open("a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->service->GetBook("dune", Ctx()).ok());  // caught up
  std::atomic<int> expired_a{0}, expired_b{0};
  std::thread ta([&] {
    auto n = a->service->ExpireHolds(Ctx());
    if (n.ok()) expired_a = *n;
  });
  std::thread tb([&] {
    auto n = b->service->ExpireHolds(Ctx());
    if (n.ok()) expired_b = *n;
  });
  ta.join();
  tb.join();
  EXPECT_GE(expired_a + expired_b, 2);

  EXPECT_EQ(CountEvents("HoldExpired"), 2) << "one HoldExpired per hold, whoever wrote it";
  for (Replica* r : {a.get(), b.get()}) {
    auto now = r->service->GetBook("dune", Ctx());
    ASSERT_TRUE(now.ok()) << now.status();
    EXPECT_EQ(now->copies_available(), 2);
    for (const std::string& id : holds) {
      auto h = r->service->GetRental(id, Ctx());
      ASSERT_TRUE(h.ok()) << h.status();
      EXPECT_EQ(h->status, RentalStatus::kHoldExpired);
    }
    // Nothing more to do: another round writes nothing.
    EXPECT_EQ(*r->service->ExpireHolds(Ctx()), 0);
  }
  EXPECT_EQ(CountEvents("HoldExpired"), 2);
  // The lapsed hold cannot be rented any more, from either replica.
  EXPECT_EQ(b->service->RentBook({"alice", "", 3, "", holds[0]}, Ctx(Actor::Customer("alice")))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(HoldsIntegrationTest, AHoldPlacedOnOneReplicaIsRentedOnTheOtherWithItsOwnCopy) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->service->AddBook({"dune", "Dune", 1, {"KRW", 1500}}, Ctx()).ok());
  auto h = a->service->HoldBook({"alice", "dune", "h-1"}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(h.ok()) << h.status();
  auto r =
      b->service->RentBook({"alice", "", 2, "r-1", h->rental_id}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, RentalStatus::kRented);
  EXPECT_EQ(payment_.charged().at(h->rental_id), 3000);
  // A release that lands after the rental changes nothing, on both.
  EXPECT_EQ(a->service->ReleaseHold({h->rental_id, "", "rel-1"}, Ctx(Actor::Customer("alice")))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  for (Replica* rep : {a.get(), b.get()}) {
    auto book = rep->service->GetBook("dune", Ctx());
    ASSERT_TRUE(book.ok());
    EXPECT_EQ(book->copies_available(), 0);
    EXPECT_EQ(book->active_rentals, 1);
    EXPECT_EQ(rep->ignored.load(), 0);
  }
  EXPECT_EQ(CountEvents("HoldPlaced"), 1);
  EXPECT_EQ(CountEvents("RentalRequested"), 1);
}

// Reads with the consistency token of a write made on another replica: the
// answer reflects the write, from local state without asking the stream
// leader once it is applied; a position this replica cannot reach in time
// answers UNAVAILABLE, never older state. Without a token the read asks.
TEST_F(HoldsIntegrationTest,
       AReadWithAWritesTokenOnAnotherReplicaReflectsItWithoutAskingTheLeader) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->service->AddBook({"dune", "Dune", 2, {"KRW", 1500}}, Ctx()).ok());
  auto rented = a->service->RentBook({"alice", "dune", 3, "r-1"}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(rented.ok()) << rented.status();
  ASSERT_GT(rented->last_position, 0u);

  CallContext read = Ctx(Actor::Customer("alice"));
  read.read_position = rented->last_position;
  ASSERT_TRUE(
      b->follower->WaitApplied(rented->last_position, absl::Now() + absl::Seconds(10)).ok());
  const uint64_t asked = b->follower->end_queries();
  auto book = b->service->GetBook("dune", read);
  ASSERT_TRUE(book.ok()) << book.status();
  EXPECT_EQ(book->copies_available(), 1);
  auto rental = b->service->GetRental(rented->rental_id, read);
  ASSERT_TRUE(rental.ok()) << rental.status();
  EXPECT_EQ(rental->status, RentalStatus::kRented);
  EXPECT_EQ(b->follower->end_queries(), asked) << "a read whose token is applied asked the leader";

  // Another customer's rental stays hidden with a token too.
  CallContext bob = Ctx(Actor::Customer("bob"));
  bob.read_position = rented->last_position;
  EXPECT_EQ(b->service->GetRental(rented->rental_id, bob).status().code(),
            absl::StatusCode::kPermissionDenied);

  // Beyond what the stream holds: UNAVAILABLE at the deadline.
  CallContext ahead = Ctx(Actor::Customer("alice"));
  ahead.read_position = rented->last_position + 1000;
  ahead.deadline = absl::Now() + absl::Milliseconds(300);
  EXPECT_EQ(b->service->GetBook("dune", ahead).status().code(), absl::StatusCode::kUnavailable);
  ahead.deadline = absl::Now() + absl::Milliseconds(300);
  EXPECT_EQ(b->service->GetRental(rented->rental_id, ahead).status().code(),
            absl::StatusCode::kUnavailable);

  // No token: the read asks the leader.
  ASSERT_TRUE(b->service->GetBook("dune", Ctx()).ok());
  EXPECT_GT(b->follower->end_queries(), asked);
}

// A copy returned on one replica while its reconciler and the other
// replica's grant waiting holds at the same time: exactly one HoldGranted,
// for the oldest waiting hold, and both replicas fold the same list.
TEST_F(HoldsIntegrationTest, ACopyReturnedOnOneReplicaGrantsExactlyOneWaitingHoldOnce) {
  auto a = Open("a");
  auto b = Open("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->service->AddBook({"dune", "Dune", 1, {"KRW", 1500}}, Ctx()).ok());
  auto rented = a->service->RentBook({"xavier", "dune", 3, "r-1"}, Ctx(Actor::Customer("xavier")));
  ASSERT_TRUE(rented.ok()) << rented.status();
  auto alice = a->service->HoldBook({"alice", "dune", "h-1", true}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(alice->queue_position, 1);
  auto bob = b->service->HoldBook({"bob", "dune", "h-1", true}, Ctx(Actor::Customer("bob")));
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->status, RentalStatus::kHoldWaiting);
  EXPECT_EQ(bob->queue_position, 2);
  // A retry on the other replica is the same hold, queued once.
  auto retry = a->service->HoldBook({"bob", "dune", "h-1", true}, Ctx(Actor::Customer("bob")));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->rental_id, bob->rental_id);
  EXPECT_EQ(CountEvents("HoldQueued"), 2);

  std::atomic<bool> returned{false};
  std::atomic<int> granted_a{0}, granted_b{0};
  std::thread ta([&] {
    auto r = a->service->ReturnBook({rented->rental_id, false, "ret-1"}, Ctx());
    EXPECT_TRUE(r.ok()) << r.status();
    returned = true;
    auto n = a->service->GrantWaitingHolds(Ctx());
    if (n.ok()) granted_a += *n;
  });
  std::thread tb([&] {
    // b's reconciler, round after round, racing the return's own grant.
    const absl::Time until = absl::Now() + absl::Seconds(5);
    bool last_round = false;
    while (absl::Now() < until) {
      last_round = returned.load();
      auto n = b->service->GrantWaitingHolds(Ctx());
      if (n.ok()) granted_b += *n;
      if (last_round) break;
    }
  });
  ta.join();
  tb.join();
  EXPECT_LE(granted_a + granted_b, 1);

  EXPECT_EQ(CountEvents("HoldGranted"), 1) << "one grant for the one copy";
  for (Replica* r : {a.get(), b.get()}) {
    auto book = r->service->GetBook("dune", Ctx());
    ASSERT_TRUE(book.ok()) << book.status();
    EXPECT_EQ(book->copies_available(), 0);
    EXPECT_EQ(book->active_rentals, 1);
    ASSERT_EQ(book->waiting.size(), 1u);
    EXPECT_EQ(book->waiting.front(), bob->rental_id);
    auto h = r->service->GetRental(alice->rental_id, Ctx());
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->status, RentalStatus::kHeld);
    EXPECT_EQ(h->hold_expires_at, clock_.Now() + absl::Minutes(30));
    auto listed = r->service->ListHolds("bob", Ctx(Actor::Customer("bob")));
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().status, RentalStatus::kHoldWaiting);
    EXPECT_EQ(listed->front().queue_position, 1);
    EXPECT_EQ(*r->service->GrantWaitingHolds(Ctx()), 0) << "nothing more to grant";
  }
  EXPECT_EQ(CountEvents("HoldGranted"), 1);

  // Replica b restarts from its stored state and keeps the list.
  b.reset();
  b = Open("b");
  ASSERT_TRUE(b);
  auto book = b->service->GetBook("dune", Ctx());
  ASSERT_TRUE(book.ok()) << book.status();
  ASSERT_EQ(book->waiting.size(), 1u);
  EXPECT_EQ(book->waiting.front(), bob->rental_id);
}

}  // namespace
}  // namespace rentmesh::rental
