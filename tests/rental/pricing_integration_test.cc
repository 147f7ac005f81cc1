// Pricing tiers through the real adapters: the tier is an event on RENTAL
// (nats-server) folded into each replica's RocksDB, and a rental's price
// lives in its own events, whatever the policy of the replica reading it.
#include <gtest/gtest.h>

#include "fakes.h"
#include "rental/adapters/outbound/nats/jetstream_book_log.h"
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"
#include "rental/core/rental_service.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::rental {
namespace {

// One rental replica: its own RocksDB and follower, a service with `policy`.
struct PricedReplica {
  std::unique_ptr<rocksdb_store::StateStore> store;
  std::unique_ptr<RocksDbRentalState> state;
  std::unique_ptr<nats::StreamFollower> follower;
  std::unique_ptr<JetStreamBookLog> log;
  std::unique_ptr<RentalService> service;
  std::atomic<int> ignored{0};

  static std::unique_ptr<PricedReplica> Open(nats::JetStream& js, const std::string& dir,
                                             absl::string_view policy,
                                             testing::FakePaymentGateway& payment,
                                             testing::FakeReturnsGateway& returns, IdGenerator& ids,
                                             const Clock& clock, const Failpoints& failpoints) {
    auto r = std::make_unique<PricedReplica>();
    r->store = std::move(*rocksdb_store::StateStore::Open(dir));
    PricedReplica* self = r.get();
    r->state = std::make_unique<RocksDbRentalState>(
        *r->store, [self](absl::string_view, absl::string_view) { ++self->ignored; });
    auto* state = r->state.get();
    r->follower = std::move(*nats::StreamFollower::Start(
        js, {"RENTAL", "rental.>", *r->state->AppliedPosition(), 64},
        [state](const std::vector<nats::StreamMessage>& b) { return state->Apply(b); }));
    r->log = std::make_unique<JetStreamBookLog>(js, *r->follower);
    RentalServiceConfig config;
    config.tiers = *domain::TierPolicy::Parse(policy);
    r->service = std::make_unique<RentalService>(config, *r->log, *r->state, payment, returns, ids,
                                                 clock, failpoints);
    return r;
  }
};

class PricingIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::move(*::rentmesh::testing::NatsServer::Start());
    js_ = std::move(*nats::JetStream::Connect(server_->url(), "test", absl::Seconds(5)));
    ASSERT_TRUE(js_->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  }
  std::unique_ptr<PricedReplica> Open(const std::string& name, absl::string_view policy) {
    return PricedReplica::Open(*js_, dir_.Sub(name), policy, payment_, returns_, ids_, clock_,
                               failpoints_);
  }
  CallContext Ctx(Actor actor) {
    CallContext c;
    c.deadline = absl::Now() + absl::Seconds(10);
    c.actor = std::move(actor);
    return c;
  }

  ::rentmesh::testing::TempDir dir_;
  std::unique_ptr<::rentmesh::testing::NatsServer> server_;
  std::unique_ptr<nats::JetStream> js_;
  ManualClock clock_{absl::FromUnixSeconds(1767225600)};
  testing::FakePaymentGateway payment_;
  testing::FakeReturnsGateway returns_{clock_};
  testing::CountingIdGenerator ids_;
  Failpoints failpoints_;
};

TEST_F(PricingIntegrationTest, ATierSetOnOneReplicaPricesTheNextRentalOnAnother) {
  auto a = Open("a", "vip:20,gold:10");
  auto b = Open("b", "vip:20,gold:10");
  const std::string customer = "alice@example.com";  // '.' is encoded in the subject
  ASSERT_TRUE(
      a->service->AddBook({"dune", "Dune", 2, {"KRW", 1500}}, Ctx(Actor::Librarian("lib"))).ok());
  auto set = a->service->SetCustomerTier({customer, "vip", "t-1"}, Ctx(Actor::Librarian("lib")));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->record.version, 1u);

  auto rented = b->service->RentBook({customer, "dune", 3, "r-1"}, Ctx(Actor::Customer(customer)));
  ASSERT_TRUE(rented.ok()) << rented.status();
  EXPECT_EQ(rented->tier, "vip");
  EXPECT_EQ(rented->base_fee, (domain::Money{"KRW", 4500}));
  EXPECT_EQ(rented->discount, (domain::Money{"KRW", 900}));
  EXPECT_EQ(rented->fee, (domain::Money{"KRW", 3600}));
  EXPECT_EQ(payment_.charged().at(rented->rental_id), 3600);

  // The same request on the other replica: nothing more is written.
  auto retry = b->service->SetCustomerTier({customer, "vip", "t-1"}, Ctx(Actor::Librarian("lib")));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->record.version, 1u);
  EXPECT_EQ(retry->record.last_position, set->record.last_position);
  auto seen = b->service->GetCustomerTier(customer, Ctx(Actor::Customer(customer)));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->tier, "vip");
  EXPECT_EQ(seen->discount_percent, 20);
  EXPECT_EQ(a->ignored.load(), 0);
  EXPECT_EQ(b->ignored.load(), 0);
}

TEST_F(PricingIntegrationTest, RestartedWithAnotherPolicyAnOldRentalKeepsItsPrice) {
  std::string rental_id;
  {
    auto first = Open("first", "vip:20");
    ASSERT_TRUE(
        first->service->AddBook({"dune", "Dune", 2, {"KRW", 1500}}, Ctx(Actor::Internal())).ok());
    ASSERT_TRUE(
        first->service->SetCustomerTier({"alice", "vip", "t-1"}, Ctx(Actor::Librarian("lib")))
            .ok());
    auto r = first->service->RentBook({"alice", "dune", 2, "r-1"}, Ctx(Actor::Customer("alice")));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->fee, (domain::Money{"KRW", 2400}));
    rental_id = r->rental_id;
  }
  // Another process with another policy, rebuilding its state from the stream.
  auto second = Open("second", "vip:50");
  auto old = second->service->GetRental(rental_id, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->base_fee, (domain::Money{"KRW", 3000}));
  EXPECT_EQ(old->discount, (domain::Money{"KRW", 600}));
  EXPECT_EQ(old->fee, (domain::Money{"KRW", 2400}));
  EXPECT_EQ(old->discount_percent, 20);

  // Its late fee follows the discount it was rented with, not the new one.
  clock_.Advance(absl::Hours(24 * 2 + 1));  // 1 started day late: 500 before the discount
  auto returned =
      second->service->ReturnBook({rental_id, false, "ret-1"}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->late_fee, (domain::Money{"KRW", 400}));

  // A new rental is priced with the new policy; the tier itself was kept.
  auto fresh =
      second->service->RentBook({"alice", "dune", 2, "r-2"}, Ctx(Actor::Customer("alice")));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->discount_percent, 50);
  EXPECT_EQ(fresh->fee, (domain::Money{"KRW", 1500}));
}

}  // namespace
}  // namespace rentmesh::rental
