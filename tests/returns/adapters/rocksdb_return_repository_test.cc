// returns' fold of RETURNS: only trusted events, each event id applied once.

#include "adapters/outbound/rocksdb/rocksdb_return_repository.h"

#include <gtest/gtest.h>

#include "rentmesh/events/envelope.h"
#include "rentmesh/testing/test_env.h"

namespace rentmesh::returns {
namespace {

nats::StreamMessage Completed(uint64_t sequence, const std::string& rental_id,
                              const std::string& event_id, const std::string& producer) {
  events::v1::Envelope e;
  events::v1::ReturnCompleted* r = e.mutable_return_completed();
  r->set_return_id("ret-" + rental_id);
  r->set_rental_id(rental_id);
  r->set_book_id("book-1");
  r->set_customer_id("alice");
  r->mutable_due_at()->set_seconds(1'750'000'000);
  r->mutable_returned_at()->set_seconds(1'750'000'100);
  r->set_condition("GOOD");
  for (auto* m : {r->mutable_late_fee(), r->mutable_damage_fee(), r->mutable_total_fee()}) {
    m->set_currency("KRW");
  }
  events::EnvelopeHeader h;
  h.producer = producer;
  h.event_id = event_id;
  h.aggregate_version = 1;
  h.occurred_at = absl::FromUnixSeconds(1'750'000'100);
  events::Seal(h, e);
  nats::StreamMessage m;
  m.sequence = sequence;
  m.subject = "returns.rental." + rental_id;
  m.data = e.SerializeAsString();
  return m;
}

TEST(RocksDbReturnRepositoryTest, AppliesEachEventIdOnceAndNoForeignEvent) {
  rentmesh::testing::TempDir dir;
  auto store = rocksdb_store::StateStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  RocksDbReturnRepository repo(**store);
  ASSERT_TRUE(repo.Apply({Completed(1, "r1", "evt-1", "returns")}).ok());
  ASSERT_TRUE(repo.FindByRental("r1")->has_value());
  // The same event id again (a copy appended later), under another rental id:
  // not applied. Nor a well-formed event some other producer wrote.
  ASSERT_TRUE(
      repo.Apply({Completed(2, "r2", "evt-1", "returns"), Completed(3, "r3", "evt-3", "view"),
                  Completed(4, "r4", "evt-4", "returns"), Completed(5, "r5", "evt-4", "returns")})
          .ok());
  EXPECT_FALSE(repo.FindByRental("r2")->has_value());
  EXPECT_FALSE(repo.FindByRental("r3")->has_value());
  EXPECT_TRUE(repo.FindByRental("r4")->has_value());
  EXPECT_FALSE(repo.FindByRental("r5")->has_value());
  EXPECT_EQ(*repo.AppliedPosition(), 5u);
}

}  // namespace
}  // namespace rentmesh::returns
