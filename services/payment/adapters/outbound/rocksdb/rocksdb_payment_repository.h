#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

#include "payment/core/ports/payment_repository.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::payment {

// The local projection of the PAYMENT stream in RocksDB, rebuildable from the
// stream at any time:
//   r/<rental_id>/<sequence, 20 digits>  the event envelope as stored in the stream
//   p/<payment_id>                       its rental id
//   pe/<event_id>                        an applied event (a second copy is skipped)
//   pos/PAYMENT                          the last applied stream sequence
// A batch of events and the new position are written in one RocksDB write
// batch, so after a crash the follower resumes right after what is stored and
// nothing is applied twice. Rental ids cannot contain '/' (see ValidateKey),
// so a rental's prefix never matches another rental's keys.
//
// Every event is kept as stored; the stream's rules decide, at each fold,
// which of them take effect (RentalPayments::Apply). Those that do not are
// reported once, when they arrive, to `ignored` (the signature of
// telemetry::IgnoredEventFn) and logged.
class RocksDbPaymentRepository final : public PaymentRepository {
 public:
  static constexpr char kPositionName[] = "PAYMENT";

  using IgnoredFn = std::function<void(absl::string_view stream, absl::string_view event_type,
                                       absl::string_view reason)>;

  explicit RocksDbPaymentRepository(rocksdb_store::StateStore& store, IgnoredFn ignored = nullptr)
      : store_(store), ignored_(std::move(ignored)) {}

  // The stream sequence to follow from.
  absl::StatusOr<uint64_t> AppliedPosition() const;
  // The StreamFollower's batch handler. Messages that are not payment events
  // on an aggregate subject are skipped (logged), but still advance the position.
  absl::Status ApplyBatch(const std::vector<nats::StreamMessage>& batch);

  // PaymentRepository
  absl::StatusOr<RentalPayments> Load(absl::string_view rental_id) const override;
  absl::StatusOr<std::optional<std::string>> FindRentalOf(
      absl::string_view payment_id) const override;

 private:
  rocksdb_store::StateStore& store_;
  IgnoredFn ignored_;
};

}  // namespace rentmesh::payment
