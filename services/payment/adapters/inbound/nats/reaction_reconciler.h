#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "payment/adapters/inbound/nats/payment_reactions.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_rental_status.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::payment {

// The level-triggered backstop of PaymentReactions. Payment's own fold of
// RENTAL records every effective RentalCancelled, RentalAborted and
// BookReturned with a late fee as a reaction due (RocksDbRentalStatus). The
// durable consumer is the fast path; this loop re-drives, through the same
// handler, each reaction due that was folded more than `after` ago, reading the
// event from the stream by sequence (the leader answers), and marks it done
// once the handler succeeds. The handler is idempotent, so a reaction the
// durable already did changes nothing; one the durable never delivered (a
// consumer living on a diverged, shorter copy of RENTAL: docs/cluster.md case
// 7) is done here. A failed one stays due and is tried again next round.
class ReactionReconciler final {
 public:
  struct Options {
    absl::Duration after = absl::Seconds(20);
    absl::Duration every = absl::Seconds(2);
    size_t batch = 256;
  };

  ReactionReconciler(nats::JetStream& js, RocksDbRentalStatus& status, PaymentReactions& reactions,
                     Options options);
  ~ReactionReconciler();
  ReactionReconciler(const ReactionReconciler&) = delete;
  ReactionReconciler& operator=(const ReactionReconciler&) = delete;

  // Runs one round now (the loop's body); returns how many reactions it re-drove.
  uint64_t RunOnce();
  // Reactions re-driven since start.
  uint64_t redriven() const { return redriven_.load(); }

 private:
  void Loop();

  nats::JetStream& js_;
  RocksDbRentalStatus& status_;
  PaymentReactions& reactions_;
  const Options options_;
  std::atomic<uint64_t> redriven_{0};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rentmesh::payment
