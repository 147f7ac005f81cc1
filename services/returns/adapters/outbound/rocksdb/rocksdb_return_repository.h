#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ports/return_repository.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::returns {

// This replica's projection of the RETURNS stream in its RocksDB, and the
// ReturnRepository that reads it. Rebuildable: an empty store replays the
// stream from sequence 1.
//
// Layout: "returns/rental/<rental_id>" -> rentmesh.returns.v1.Return (with
// its RETURNS position), "returns/id/<return_id>" -> rental_id, and the
// stream position under the state store's "pos/RETURNS".
class RocksDbReturnRepository final : public ReturnRepository {
 public:
  static constexpr char kPositionName[] = "RETURNS";

  explicit RocksDbReturnRepository(rocksdb_store::StateStore& store) : store_(store) {}

  // The last stream sequence applied (0 for an empty store): where the
  // follower resumes.
  absl::StatusOr<uint64_t> AppliedPosition() const;

  // The StreamFollower batch handler: applies every ReturnCompleted of
  // `batch` and the batch's last sequence in one write batch, so a crash
  // never separates the state from its position. The first return recorded
  // for a rental wins (a later one can only come from a writer that bypassed
  // the expected-sequence check). Messages that are not ReturnCompleted
  // envelopes are skipped with a warning: a bad message must not stop the
  // replica. An error means the store cannot be written.
  absl::Status Apply(const std::vector<nats::StreamMessage>& batch);

  // ReturnRepository
  absl::StatusOr<std::optional<RecordedReturn>> FindByRental(
      absl::string_view rental_id) const override;
  absl::StatusOr<std::optional<RecordedReturn>> FindByReturnId(
      absl::string_view return_id) const override;

 private:
  rocksdb_store::StateStore& store_;
};

}  // namespace rentmesh::returns
