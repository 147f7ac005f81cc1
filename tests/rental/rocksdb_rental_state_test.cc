// The rental log and state adapters against a real nats-server and RocksDB.
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"

#include <gtest/gtest.h>

#include "rental/adapters/mapping.h"
#include "rental/adapters/outbound/nats/jetstream_book_log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::rental {
namespace {

// One replica's side: its own RocksDB, following the shared stream.
struct Replica {
  std::unique_ptr<rocksdb_store::StateStore> store;
  std::unique_ptr<RocksDbRentalState> state;
  std::unique_ptr<nats::StreamFollower> follower;
  std::unique_ptr<JetStreamBookLog> log;

  std::map<std::string, int> ignored;  // by reason; written by the follower thread
  absl::Mutex mu;

  int Ignored(const std::string& reason) {
    absl::MutexLock l(&mu);
    return ignored[reason];
  }

  static std::unique_ptr<Replica> Open(nats::JetStream& js, const std::string& dir) {
    auto r = std::make_unique<Replica>();
    r->store = std::move(*rocksdb_store::StateStore::Open(dir));
    Replica* self = r.get();
    r->state = std::make_unique<RocksDbRentalState>(
        *r->store, [self](absl::string_view, absl::string_view reason) {
          absl::MutexLock l(&self->mu);
          ++self->ignored[std::string(reason)];
        });
    uint64_t applied = *r->state->AppliedPosition();
    auto* state = r->state.get();
    r->follower = std::move(*nats::StreamFollower::Start(
        js, {"RENTAL", "rental.>", applied, 64},
        [state](const std::vector<nats::StreamMessage>& b) { return state->Apply(b); }));
    r->log = std::make_unique<JetStreamBookLog>(js, *r->follower);
    return r;
  }
};

class RentalStateIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::move(*testing::NatsServer::Start());
    js_ = std::move(*nats::JetStream::Connect(server_->url(), "test", absl::Seconds(5)));
    ASSERT_TRUE(js_->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  }
  absl::Time Deadline() { return absl::Now() + absl::Seconds(5); }

  testing::TempDir dir_;
  std::unique_ptr<testing::NatsServer> server_;
  std::unique_ptr<nats::JetStream> js_;
  const absl::Time t0_ = absl::FromUnixSeconds(1767225600);
};

TEST_F(RentalStateIntegrationTest, AppendedEventsBecomeStateOnEveryReplica) {
  auto a = Replica::Open(*js_, dir_.Sub("a"));
  auto b = Replica::Open(*js_, dir_.Sub("b"));
  auto p1 = a->log->Append(domain::BookAdded{"dune", "Dune", 2, {"KRW", 1000}}, t0_, 0, {});
  ASSERT_TRUE(p1.ok()) << p1.status();
  auto p2 = a->log->Append(
      domain::RentalRequested{"r1", "dune", "alice", 3, {"KRW", 3000}, "req", "Dune"}, t0_, *p1,
      {});
  ASSERT_TRUE(p2.ok()) << p2.status();
  ASSERT_TRUE(b->log->CatchUp(Deadline()).ok());
  auto book = b->state->GetBook("dune");
  ASSERT_TRUE(book.ok() && book->has_value());
  EXPECT_EQ((*book)->copies_available(), 1);
  EXPECT_EQ((*book)->last_position, *p2);
  auto pending = b->state->PendingRentals(t0_ + absl::Seconds(1), 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].rental_id, "r1");

  ASSERT_TRUE(a->log->WaitApplied(*p2, Deadline()).ok());
  auto p3 = a->log->Append(
      domain::BookRented{
          "r1", "dune", "alice", 3, {"KRW", 3000}, "pay-r1", t0_, t0_ + absl::Hours(72), "Dune"},
      t0_, *p2, {});
  ASSERT_TRUE(p3.ok());
  ASSERT_TRUE(b->log->WaitApplied(*p3, Deadline()).ok());
  auto rental = b->state->GetRental("r1");
  ASSERT_TRUE(rental.ok() && rental->has_value());
  EXPECT_EQ((*rental)->status, domain::RentalStatus::kRented);
  EXPECT_EQ((*rental)->payment_id, "pay-r1");
  EXPECT_TRUE(b->state->PendingRentals(t0_ + absl::Hours(1), 10)->empty());
}

TEST_F(RentalStateIntegrationTest, AStaleReplicaLosesTheAppendRaceWithAborted) {
  auto a = Replica::Open(*js_, dir_.Sub("a"));
  auto b = Replica::Open(*js_, dir_.Sub("b"));
  auto p1 = a->log->Append(domain::BookAdded{"dune", "Dune", 1, {"KRW", 1000}}, t0_, 0, {});
  ASSERT_TRUE(p1.ok());
  // Both replicas decide on the same position; only the first append sticks.
  auto first = a->log->Append(
      domain::RentalRequested{"r1", "dune", "alice", 1, {"KRW", 1000}, "", "Dune"}, t0_, *p1, {});
  auto second = b->log->Append(
      domain::RentalRequested{"r2", "dune", "bob", 1, {"KRW", 1000}, "", "Dune"}, t0_, *p1, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted) << second.status();
  // A second BookAdded for the same book (expected 0) is refused too.
  EXPECT_EQ(
      b->log->Append(domain::BookAdded{"dune", "Dune", 9, {"KRW", 1}}, t0_, 0, {}).status().code(),
      absl::StatusCode::kAborted);
}

TEST_F(RentalStateIntegrationTest, AStoreRebuiltFromTheStreamEqualsTheOriginal) {
  std::string before_book, before_rental;
  {
    auto a = Replica::Open(*js_, dir_.Sub("a"));
    uint64_t pos = *a->log->Append(domain::BookAdded{"dune", "Dune", 3, {"KRW", 700}}, t0_, 0, {});
    for (int i = 0; i < 3; ++i) {
      std::string id = "r" + std::to_string(i);
      pos = *a->log->Append(
          domain::RentalRequested{id, "dune", "alice", 2, {"KRW", 1400}, "", "Dune"}, t0_, pos, {});
      pos = *a->log->Append(domain::BookRented{id,
                                               "dune",
                                               "alice",
                                               2,
                                               {"KRW", 1400},
                                               "pay-" + id,
                                               t0_,
                                               t0_ + absl::Hours(48),
                                               "Dune"},
                            t0_, pos, {});
    }
    pos = *a->log->Append(
        domain::RentalCancelled{"r1", "dune", "alice", "oops", t0_, "pay-r1", {"KRW", 1400}, "c"},
        t0_, pos, {});
    ASSERT_TRUE(a->log->WaitApplied(pos, Deadline()).ok());
    before_book = (*a->state->GetBook("dune"))->title + "/" +
                  std::to_string((*a->state->GetBook("dune"))->copies_available());
    before_rental = std::string(domain::RentalStatusName((*a->state->GetRental("r1"))->status));
  }
  // A brand-new, empty store for the same replica rebuilds everything.
  auto rebuilt = Replica::Open(*js_, dir_.Sub("fresh"));
  ASSERT_TRUE(rebuilt->log->CatchUp(Deadline()).ok());
  auto book = *rebuilt->state->GetBook("dune");
  ASSERT_TRUE(book.has_value());
  EXPECT_EQ(book->title + "/" + std::to_string(book->copies_available()), before_book);
  EXPECT_EQ(before_book, "Dune/1");
  EXPECT_EQ(std::string(domain::RentalStatusName((*rebuilt->state->GetRental("r1"))->status)),
            before_rental);
  EXPECT_EQ(before_rental, "CANCELLED");
  EXPECT_EQ(*rebuilt->state->AppliedPosition(), *js_->LastSequence("RENTAL"));
}

// Five bytes published by a plain NATS client on a book's subject used to
// wedge that book for good: the fold skipped them, but the next append still
// expected the subject's old last sequence.
TEST_F(RentalStateIntegrationTest, AMessageThatIsNotOursNeverBlocksTheBook) {
  auto a = Replica::Open(*js_, dir_.Sub("a"));
  nats::PublishRequest garbage;
  garbage.subject = "rental.book.p1";
  garbage.data = "hello";
  auto g = js_->Publish(garbage);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(a->log->CatchUp(Deadline()).ok());
  EXPECT_EQ(a->Ignored("not_an_event"), 1);
  EXPECT_FALSE(a->state->GetBook("p1")->has_value());
  auto expected = a->state->SubjectPosition("p1");
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*expected, g->sequence);
  auto added = a->log->Append(domain::BookAdded{"p1", "P1", 1, {"KRW", 1000}}, t0_, *expected, {});
  ASSERT_TRUE(added.ok()) << added.status();

  // A well-formed event claiming another producer, and one of the right
  // producer for another book's subject: both set aside, the book goes on.
  events::v1::Envelope forged;
  mapping::SetPayload(domain::RentalRequested{"r9", "p1", "eve", 1, {"KRW", 1}, "x", "P1"}, forged);
  events::EnvelopeHeader header;
  header.producer = "payment";
  events::Seal(header, forged);
  ASSERT_TRUE(js_->Publish(events::ToPublishRequest(forged, "rental.book.p1", std::nullopt)).ok());
  header.producer = "rental";
  events::v1::Envelope misplaced;
  mapping::SetPayload(domain::RentalRequested{"r8", "other", "eve", 1, {"KRW", 1}, "y", "O"},
                      misplaced);
  events::Seal(header, misplaced);
  ASSERT_TRUE(
      js_->Publish(events::ToPublishRequest(misplaced, "rental.book.p1", std::nullopt)).ok());
  ASSERT_TRUE(a->log->CatchUp(Deadline()).ok());
  EXPECT_EQ(a->Ignored("foreign_producer"), 1);
  EXPECT_EQ(a->Ignored("wrong_subject"), 1);
  auto book = a->state->GetBook("p1");
  ASSERT_TRUE(book.ok() && book->has_value());
  EXPECT_EQ((*book)->copies_available(), 1);
  EXPECT_FALSE(a->state->GetRental("r9")->has_value());
  auto rented =
      a->log->Append(domain::RentalRequested{"r1", "p1", "alice", 1, {"KRW", 1000}, "q", "P1"}, t0_,
                     (*book)->last_position, {});
  ASSERT_TRUE(rented.ok()) << rented.status();
}

// Folding the same stream, with events that do not apply in it, gives the
// same state on a replica that rebuilds from scratch.
TEST_F(RentalStateIntegrationTest, InapplicableEventsAreIgnoredTheSameWayOnEveryReplica) {
  auto a = Replica::Open(*js_, dir_.Sub("a"));
  auto p = a->log->Append(domain::BookAdded{"dune", "Dune", 1, {"KRW", 1000}}, t0_, 0, {});
  ASSERT_TRUE(p.ok());
  // Two reservations of the last copy and a double cancel, appended without
  // the expected-sequence check (as a cluster can store them).
  const domain::Money fee{"KRW", 1000};
  std::vector<domain::BookEvent> unchecked = {
      domain::RentalRequested{"r1", "dune", "alice", 1, fee, "a", "Dune"},
      domain::RentalRequested{"r2", "dune", "bob", 1, fee, "b", "Dune"},
      domain::BookRented{"r1", "dune", "alice", 1, fee, "pay-1", t0_, t0_ + absl::Hours(24),
                         "Dune"},
      domain::BookRented{"r2", "dune", "bob", 1, fee, "pay-2", t0_, t0_ + absl::Hours(24), "Dune"},
      domain::RentalCancelled{"r1", "dune", "alice", "x", t0_, "pay-1", fee, "c1"},
      domain::RentalCancelled{"r1", "dune", "alice", "x", t0_, "pay-1", fee, "c2"},
  };
  for (const auto& e : unchecked) {
    events::v1::Envelope env;
    mapping::SetPayload(e, env);
    events::EnvelopeHeader header;
    header.producer = "rental";
    events::Seal(header, env);
    ASSERT_TRUE(js_->Publish(events::ToPublishRequest(env, "rental.book.dune", std::nullopt)).ok());
  }
  ASSERT_TRUE(a->log->CatchUp(Deadline()).ok());
  EXPECT_EQ(a->Ignored("no_copy_free"), 1);
  EXPECT_EQ(a->Ignored("rental_unknown"), 1);
  EXPECT_EQ(a->Ignored("not_rented"), 1);
  auto book = a->state->GetBook("dune");
  EXPECT_EQ((*book)->copies_available(), 1);
  EXPECT_EQ((*book)->active_rentals, 0);
  EXPECT_EQ((*a->state->GetRental("r1"))->transition_request_id, "c1");
  EXPECT_FALSE(a->state->GetRental("r2")->has_value());

  auto b = Replica::Open(*js_, dir_.Sub("b"));
  ASSERT_TRUE(b->log->CatchUp(Deadline()).ok());
  auto rebuilt = b->state->GetBook("dune");
  EXPECT_EQ((*rebuilt)->copies_available(), 1);
  EXPECT_EQ((*rebuilt)->last_position, (*book)->last_position);
}
TEST_F(RentalStateIntegrationTest, ATierChangeIsFoldedOncePerRequestAndMovesTheCustomerSubject) {
  auto a = Replica::Open(*js_, dir_.Sub("a"));
  const std::string customer = "bob.smith>1";  // characters a subject token cannot hold
  auto p1 = a->log->AppendTier({customer, "vip", "t-1", "lib"}, t0_, 0, {});
  ASSERT_TRUE(p1.ok()) << p1.status();
  // The same request again under another event id (past the server's
  // de-duplication window): the fold applies it once.
  auto p2 = a->log->AppendTier({customer, "gold", "t-1", "lib"}, t0_, *p1, {});
  ASSERT_TRUE(p2.ok()) << p2.status();
  ASSERT_TRUE(a->log->WaitApplied(*p2, Deadline()).ok());
  auto tier = a->state->GetCustomerTier(customer);
  ASSERT_TRUE(tier.ok());
  EXPECT_EQ(tier->tier, "vip");
  EXPECT_EQ(tier->version, 1u);
  EXPECT_EQ(tier->last_position, *p2);
  EXPECT_EQ(a->Ignored("duplicate"), 1);
  EXPECT_EQ(**a->state->TierRequest(customer, "t-1"), "vip");
  EXPECT_FALSE(a->state->TierRequest(customer, "t-2")->has_value());
  // A stale writer loses the append race.
  EXPECT_EQ(a->log->AppendTier({customer, "gold", "t-2", "lib"}, t0_, *p1, {}).status().code(),
            absl::StatusCode::kAborted);
}

TEST(RentalMappingTest, ARentalStoredBeforeTiersReadsAsStandardWithoutDiscount) {
  rental::v1::Rental stored;
  stored.set_rental_id("r1");
  stored.mutable_fee()->set_currency("KRW");
  stored.mutable_fee()->set_amount_minor(3000);
  domain::Rental r = mapping::FromProto(stored);
  EXPECT_EQ(r.base_fee, (domain::Money{"KRW", 3000}));
  EXPECT_EQ(r.discount, (domain::Money{"KRW", 0}));
  EXPECT_EQ(r.tier, "standard");
  EXPECT_EQ(r.discount_percent, 0);
}

}  // namespace
}  // namespace rentmesh::rental
