#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::payment {

// A rental's phase as the RENTAL stream's effective events leave it.
enum class RentalPhase : char {
  kPendingPayment = 'P',
  kRented = 'R',
  kRejected = 'J',
  kAborted = 'A',
  kReturned = 'T',
  kCancelled = 'C',
};

// The one rule of which RENTAL event is effective, as the rental service's own
// fold applies it (the rental-level part; the book-level copy count does not
// matter to payment): RentalRequested only for a new rental id;
// BookRented / RentalRejected / RentalAborted only while PENDING_PAYMENT;
// BookReturned / RentalCancelled only while RENTED. Returns the phase after
// the event, nullopt when it changes nothing (ineffective, or not a rental
// transition at all).
std::optional<RentalPhase> EffectiveTransition(const events::v1::Envelope& event,
                                               std::optional<RentalPhase> current);

// The rental id an event of the RENTAL stream is about ("" for book-level ones).
std::string RentalIdOfRentalEvent(const events::v1::Envelope& event);

// Payment's own fold of the RENTAL stream (a StreamFollower's batch handler),
// in the same RocksDB as the payment projection, so that a reaction acts only
// on an event that was effective (a second RentalCancelled after a return, as
// a 3-node cluster was seen storing, refunds nothing):
//   rs/<rental_id>          its phase
//   rx/<sequence, 20 digits> the type of an effective transition at that sequence
//   re/<event_id>           an applied event id (a second copy is ineffective)
//   pos/RENTAL              the last applied sequence
// One write batch per follower batch, position included.
class RocksDbRentalStatus final {
 public:
  static constexpr char kPositionName[] = "RENTAL";

  explicit RocksDbRentalStatus(rocksdb_store::StateStore& store) : store_(store) {}

  absl::StatusOr<uint64_t> AppliedPosition() const;
  absl::Status ApplyBatch(const std::vector<nats::StreamMessage>& batch);

  // Whether the RENTAL event at `sequence` was an effective transition. Only
  // meaningful once the follower applied `sequence`.
  absl::StatusOr<bool> WasEffective(uint64_t sequence) const;
  absl::StatusOr<std::optional<RentalPhase>> PhaseOf(absl::string_view rental_id) const;

  // Messages of the stream that were not applied (untrusted, duplicate event
  // id, or ineffective), since start.
  uint64_t skipped() const { return skipped_; }

 private:
  rocksdb_store::StateStore& store_;
  uint64_t skipped_ = 0;  // written by the follower's thread only
};

}  // namespace rentmesh::payment
