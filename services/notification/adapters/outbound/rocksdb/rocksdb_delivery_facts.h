#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ports/delivery_facts.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::notification {

// This replica's fold of what the delivery steps leave out, in RocksDB:
//   df/r/<delivery id>  -> events::v1::DeliveryRequested (whose, which book)
//   df/t/<rental id>    -> the book's title (BookRented)
//   df/c/<courier id>   -> the courier's name (CourierAdded)
//   pos/DELIVERY-facts, pos/RENTAL-facts -> last sequence applied of each
// Facts are kept after a rental ends (a return pickup comes later; a few
// bytes a rental). Each stream's batch and its position go in one write
// batch; messages at or before the stored position are skipped (the RENTAL
// follower is shared with the due-date timer and may start further back), as
// are messages that are not our events. Thread-safe (the two followers write,
// the consumers read).
class RocksDbDeliveryFacts final : public DeliveryDirectory {
 public:
  static constexpr char kDeliveryPosition[] = "DELIVERY-facts";
  static constexpr char kRentalPosition[] = "RENTAL-facts";

  explicit RocksDbDeliveryFacts(rocksdb_store::StateStore& store) : store_(store) {}

  absl::StatusOr<uint64_t> AppliedDeliveryPosition() const {
    return store_.GetPosition(kDeliveryPosition);
  }
  absl::StatusOr<uint64_t> AppliedRentalPosition() const {
    return store_.GetPosition(kRentalPosition);
  }
  // The DELIVERY follower's batch handler: DeliveryRequested and CourierAdded.
  absl::Status ApplyDelivery(const std::vector<nats::StreamMessage>& batch);
  // The RENTAL follower's batch handler: BookRented's titles.
  absl::Status ApplyRental(const std::vector<nats::StreamMessage>& batch);

  // DeliveryDirectory
  absl::StatusOr<std::optional<DeliveryFacts>> Find(const std::string& delivery_id,
                                                    const std::string& rental_id,
                                                    const std::string& courier_id) const override;

 private:
  rocksdb_store::StateStore& store_;
};

}  // namespace rentmesh::notification
