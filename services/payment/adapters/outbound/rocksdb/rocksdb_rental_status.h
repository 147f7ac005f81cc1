#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/rules/rental_stream_rules.h"

namespace rentmesh::payment {

// The kind of a RENTAL-stream event for the shared rules
// (rentmesh/rules/rental_stream_rules.h); nullopt for anything else.
std::optional<rules::RentalEventKind> KindOf(const events::v1::Envelope& event);

// The book id an event of the RENTAL stream is about, and its rental id (""
// for book-level ones).
std::string BookIdOfRentalEvent(const events::v1::Envelope& event);
std::string RentalIdOfRentalEvent(const events::v1::Envelope& event);

// Payment's own fold of the RENTAL stream (a StreamFollower's batch handler),
// in the same RocksDB as the payment projection, so that a reaction acts only
// on an event that was effective (a second RentalCancelled after a return, as
// a 3-node cluster was seen storing, refunds nothing). It applies the same
// shared rules as rental's own fold and the view (rules::Check with the
// book's counts and the rental's phase; a rental id of another book, a
// BookStocked adding nothing or beyond 100000 copies, an event whose subject
// is not its book's, an untrusted message, or an event id applied before, all
// change nothing):
//   rb/<book_id>             the book's copies and active rentals
//   rs/<rental_id>           its phase and book
//   rx/<sequence, 20 digits> the type of an effective event at that sequence
//   re/<event_id>            an applied event id (a second copy is ineffective)
//   rq/<sequence, 20 digits> a reaction due for an effective RentalCancelled,
//                            RentalAborted or BookReturned with a late fee: when it
//                            was folded (unix ms), until ReactionReconciled
//   pos/RENTAL               the last applied sequence
// One write batch per follower batch, position included.
class RocksDbRentalStatus final {
 public:
  static constexpr char kPositionName[] = "RENTAL";

  explicit RocksDbRentalStatus(rocksdb_store::StateStore& store) : store_(store) {}

  absl::StatusOr<uint64_t> AppliedPosition() const;
  absl::Status ApplyBatch(const std::vector<nats::StreamMessage>& batch);

  // The sequences of reactions due that were folded before `applied_before`,
  // in stream order, at most `limit`.
  absl::StatusOr<std::vector<uint64_t>> DueReactions(absl::Time applied_before, size_t limit) const;
  // The reaction of the event at `sequence` is done: no longer due.
  absl::Status ReactionReconciled(uint64_t sequence);

  // Whether the RENTAL event at `sequence` was an effective transition. Only
  // meaningful once the follower applied `sequence`.
  absl::StatusOr<bool> WasEffective(uint64_t sequence) const;
  // The rental's phase (kAbsent when no effective event names it).
  absl::StatusOr<rules::RentalPhase> PhaseOf(absl::string_view rental_id) const;

  // Messages of the stream that were not applied (untrusted, duplicate event
  // id, or ineffective), since start.
  uint64_t skipped() const { return skipped_; }

 private:
  rocksdb_store::StateStore& store_;
  uint64_t skipped_ = 0;  // written by the follower's thread only
};

}  // namespace rentmesh::payment
