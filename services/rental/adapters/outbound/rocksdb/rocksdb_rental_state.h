#pragma once

#include <string>
#include <vector>

#include "rental/core/ports/rental_state.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::rental {

// This replica's books and rentals in RocksDB, kept by applying the RENTAL
// stream. Keys:
//   book/<book_id>                      rentmesh.rental.v1.Book
//   rental/<rental_id>                  rentmesh.rental.v1.Rental
//   pending/<requested_at_us>/<rental>  reservations awaiting payment
//   stockreq/<book_id>/<request_id>     BookStocked requests applied
//   pos/RENTAL                          last stream sequence applied
// The consistency_token stored with a record is its last event's position.
class RocksDbRentalState final : public RentalState {
 public:
  static constexpr char kPositionName[] = "RENTAL";

  explicit RocksDbRentalState(rocksdb_store::StateStore& store) : store_(store) {}

  // Applies consecutive stream messages and the new position in one batch.
  // Messages that are not rental events are skipped (and logged).
  absl::Status Apply(const std::vector<nats::StreamMessage>& batch);
  absl::StatusOr<uint64_t> AppliedPosition() const;

  // RentalState
  absl::StatusOr<std::optional<domain::Book>> GetBook(const std::string& book_id) override;
  absl::StatusOr<std::optional<domain::Rental>> GetRental(const std::string& rental_id) override;
  absl::StatusOr<bool> HasStockRequest(const std::string& book_id,
                                       const std::string& request_id) override;
  absl::StatusOr<std::vector<domain::Book>> ListBooks(const std::string& after_book_id,
                                                      int limit) override;
  absl::StatusOr<std::vector<domain::Rental>> PendingRentals(absl::Time before, int limit) override;

 private:
  rocksdb_store::StateStore& store_;
};

}  // namespace rentmesh::rental
