#pragma once

// Rental replicas through the real adapters, for integration tests: each its
// own RocksDB and follower of RENTAL on a real nats-server, sharing the fakes
// of payment and returns.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "fakes.h"
#include "rental/adapters/outbound/nats/jetstream_book_log.h"
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"
#include "rental/core/rental_service.h"
#include "rentmesh/testing/nats_server.h"

namespace rentmesh::rental::testing {

struct Replica {
  std::unique_ptr<rocksdb_store::StateStore> store;
  std::unique_ptr<RocksDbRentalState> state;
  std::unique_ptr<nats::StreamFollower> follower;
  std::unique_ptr<JetStreamBookLog> log;
  std::unique_ptr<RentalService> service;
  // Events the state set aside.
  std::atomic<int> ignored{0};

  // nullptr when the store or the follower cannot start, or `prepare`
  // (run on the store before the follower starts, e.g. a restore) fails.
  static std::unique_ptr<Replica> Open(
      nats::JetStream& js, const std::string& dir, const RentalServiceConfig& config,
      FakePaymentGateway& payment, FakeReturnsGateway& returns, IdGenerator& ids,
      const Clock& clock, const Failpoints& failpoints,
      const std::function<absl::Status(rocksdb_store::StateStore&)>& prepare = nullptr) {
    auto r = std::make_unique<Replica>();
    auto store = rocksdb_store::StateStore::Open(dir);
    if (!store.ok()) return nullptr;
    r->store = std::move(*store);
    if (prepare && !prepare(*r->store).ok()) return nullptr;
    Replica* self = r.get();
    r->state = std::make_unique<RocksDbRentalState>(
        *r->store, [self](absl::string_view, absl::string_view) { ++self->ignored; });
    auto* state = r->state.get();
    auto applied = r->state->AppliedPosition();
    if (!applied.ok()) return nullptr;
    auto follower = nats::StreamFollower::Start(
        js, {"RENTAL", "rental.>", *applied, 64},
        [state](const std::vector<nats::StreamMessage>& b) { return state->Apply(b); });
    if (!follower.ok()) return nullptr;
    r->follower = std::move(*follower);
    r->log = std::make_unique<JetStreamBookLog>(js, *r->follower);
    r->service = std::make_unique<RentalService>(config, *r->log, *r->state, payment, returns, ids,
                                                 clock, failpoints);
    return r;
  }
};

// A real nats-server with RENTAL, and what the replicas share.
class RentalReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ::rentmesh::testing::NatsServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto js = nats::JetStream::Connect(server_->url(), "test", absl::Seconds(5));
    ASSERT_TRUE(js.ok()) << js.status();
    js_ = std::move(*js);
    ASSERT_TRUE(js_->EnsureStream({"RENTAL", {"rental.>"}, 1, absl::Minutes(2)}).ok());
  }
  std::unique_ptr<Replica> OpenReplica(
      const std::string& name, const RentalServiceConfig& config,
      const std::function<absl::Status(rocksdb_store::StateStore&)>& prepare = nullptr) {
    return Replica::Open(*js_, dir_.Sub(name), config, payment_, returns_, ids_, clock_,
                         failpoints_, prepare);
  }
  CallContext Ctx(Actor actor = Actor::Internal()) {
    CallContext c;
    c.deadline = absl::Now() + absl::Seconds(10);
    c.actor = std::move(actor);
    return c;
  }

  ::rentmesh::testing::TempDir dir_;
  std::unique_ptr<::rentmesh::testing::NatsServer> server_;
  std::unique_ptr<nats::JetStream> js_;
  ManualClock clock_{absl::FromUnixSeconds(1767225600)};
  FakePaymentGateway payment_;
  FakeReturnsGateway returns_{clock_};
  CountingIdGenerator ids_;
  Failpoints failpoints_;
};

}  // namespace rentmesh::rental::testing
