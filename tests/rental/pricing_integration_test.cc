// Pricing tiers through the real adapters: the tier is an event on RENTAL
// (nats-server) folded into each replica's RocksDB, and a rental's price
// lives in its own events, whatever the policy of the replica reading it.
#include <gtest/gtest.h>

#include "rental_replicas_test.h"

namespace rentmesh::rental {
namespace {

using testing::Replica;

class PricingIntegrationTest : public testing::RentalReplicasTest {
 protected:
  // A replica whose service prices with `policy`.
  std::unique_ptr<Replica> Open(const std::string& name, absl::string_view policy) {
    RentalServiceConfig config;
    config.tiers = *domain::TierPolicy::Parse(policy);
    return OpenReplica(name, config);
  }
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
