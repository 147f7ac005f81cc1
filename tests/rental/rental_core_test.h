#pragma once

// The rental core on the in-memory log and fakes, for unit tests: a fixture
// each suite derives from with the configuration it needs.
#include <gtest/gtest.h>

#include <string>

#include "fakes.h"
#include "rental/core/rental_service.h"

namespace rentmesh::rental::testing {

class RentalCoreTest : public ::testing::Test {
 protected:
  explicit RentalCoreTest(const RentalServiceConfig& config)
      : clock_(absl::FromUnixSeconds(1767225600)),  // 2026-01-01
        returns_(clock_),
        service_(config, store_, store_, payment_, returns_, ids_, clock_, failpoints_) {}

  void AddBook(const std::string& id, int copies, int64_t fee = 1000) {
    auto b = service_.AddBook({id, "Title " + id, copies, {"KRW", fee}}, ctx_);
    ASSERT_TRUE(b.ok()) << b.status();
  }
  int Available(const std::string& book) {
    return service_.GetBook(book, ctx_)->copies_available();
  }

  ManualClock clock_;
  InMemoryRentalStore store_;
  FakePaymentGateway payment_;
  FakeReturnsGateway returns_;
  CountingIdGenerator ids_;
  Failpoints failpoints_;
  RentalService service_;
  CallContext ctx_;
};

}  // namespace rentmesh::rental::testing
