#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/ports/due_timers.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::notification {

// This replica's due dates, folded from RENTAL in RocksDB:
//   tm/<rental id>                      -> v1::DueReminder (the timer; no id)
//   dq/<next reminder, unix us>/<rental> -> "" (the index DueBy scans)
//   ds/<kind>/<rental id>               -> "" (scheduled, by any replica)
//   pos/RENTAL-due                      -> last RENTAL sequence applied
// BookRented starts a timer, BookReturned and RentalCancelled end it. The
// marks come from this replica's scheduler and from the NOTIFICATION fold
// (what other replicas scheduled); a mark may come before its rental.
// Thread-safe (the RENTAL follower, the NOTIFICATION follower and the timer
// write here).
class RocksDbDueTimers final : public DueTimers {
 public:
  static constexpr char kPosition[] = "RENTAL-due";

  RocksDbDueTimers(rocksdb_store::StateStore& store, absl::Duration due_soon_window)
      : store_(store), window_(due_soon_window) {}

  absl::StatusOr<uint64_t> AppliedPosition() const { return store_.GetPosition(kPosition); }
  // The RENTAL follower's batch handler. Messages that are not our events
  // are skipped, as are those at or before the stored position (the follower
  // is shared with the delivery facts and may start further back).
  absl::Status ApplyRental(const std::vector<nats::StreamMessage>& batch);

  // DueTimers
  absl::StatusOr<std::vector<DueTimer>> DueBy(absl::Time until, size_t limit) const override;
  absl::StatusOr<bool> IsOpen(const std::string& rental_id) const override;
  absl::Status MarkScheduled(const std::string& rental_id, NotificationKind kind) override;

 private:
  absl::StatusOr<std::optional<DueTimer>> Load(const std::string& rental_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  rocksdb_store::StateStore& store_;
  const absl::Duration window_;
  mutable absl::Mutex mu_;
};

}  // namespace rentmesh::notification
