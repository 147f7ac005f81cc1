#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ports/delivery_repository.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::delivery {

// This replica's fold of the DELIVERY stream in its RocksDB, and the
// DeliveryRepository that reads it. Rebuildable: an empty store replays the
// stream from sequence 1.
//
// Layout: "delivery/d/<delivery_id>" -> rentmesh.delivery.v1.Delivery (its
// steps, version and DELIVERY position), "delivery/subj/<rental_id>/<kind>"
// -> the subject's last sequence, "delivery/req/<region>/<delivery_id>" while
// REQUESTED, "delivery/courier/<courier_id>" -> rentmesh.delivery.v1.Courier,
// "delivery/region/<region>/<courier_id>", "delivery/event/<event_id>" for
// every event applied, and the position under "pos/DELIVERY".
class RocksDbDeliveryRepository final : public DeliveryRepository {
 public:
  static constexpr char kPositionName[] = "DELIVERY";

  explicit RocksDbDeliveryRepository(rocksdb_store::StateStore& store) : store_(store) {}

  // The last stream sequence applied (0 for an empty store).
  absl::StatusOr<uint64_t> AppliedPosition() const;

  // The StreamFollower batch handler: applies the batch and its last
  // sequence in one write batch. An event applies only where the delivery
  // rules allow it (domain Apply) and only once per event id; anything else
  // (not our event, a transition that does not fit) only moves its
  // subject's last sequence and is logged. An error means the store cannot
  // be written.
  absl::Status Apply(const std::vector<nats::StreamMessage>& batch);

  // Messages set aside so far (not ours, or not applicable).
  uint64_t ignored() const { return ignored_; }

  // DeliveryRepository
  absl::StatusOr<std::optional<Delivery>> FindDelivery(
      absl::string_view delivery_id) const override;
  absl::StatusOr<uint64_t> SubjectSequence(absl::string_view rental_id,
                                           DeliveryKind kind) const override;
  absl::StatusOr<std::optional<Courier>> FindCourier(absl::string_view courier_id) const override;
  absl::StatusOr<std::vector<Courier>> ListCouriers(absl::string_view region) const override;
  absl::StatusOr<std::vector<std::string>> RequestedDeliveries(absl::string_view region,
                                                               size_t limit) const override;

 private:
  rocksdb_store::StateStore& store_;
  uint64_t ignored_ = 0;  // written by the follower's thread only
};

}  // namespace rentmesh::delivery
