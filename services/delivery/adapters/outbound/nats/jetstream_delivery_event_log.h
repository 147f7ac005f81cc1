#pragma once

#include <string>

#include "absl/time/time.h"
#include "core/ports/delivery_event_log.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::delivery {

// The DELIVERY stream on JetStream: a delivery's events on
// "delivery.rental.<rental_id>.<outbound|return>", appended with
// Nats-Expected-Last-Subject-Sequence; a courier's CourierAdded on
// "delivery.courier.<courier_id>" (first writer wins). Progress is this
// replica's StreamFollower.
class JetStreamDeliveryEventLog final : public DeliveryEventLog {
 public:
  // The stream every delivery replica ensures at startup.
  static nats::StreamSpec Stream(int replicas);
  static std::string DeliverySubject(absl::string_view rental_id, DeliveryKind kind);
  static std::string CourierSubject(absl::string_view courier_id);

  JetStreamDeliveryEventLog(nats::JetStream& js, const nats::StreamFollower& follower,
                            absl::Duration publish_timeout)
      : js_(js), follower_(follower), publish_timeout_(publish_timeout) {}

  // DeliveryEventLog
  absl::StatusOr<AppendResult> AppendDeliveryEvent(const DeliveryEvent& event,
                                                   uint64_t expected_sequence,
                                                   const EventTrace& trace) override;
  absl::StatusOr<AppendResult> AppendCourierAdded(const Courier& courier,
                                                  const EventTrace& trace) override;
  absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) override;
  absl::Status CatchUp(absl::Time deadline) override;

 private:
  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
  const absl::Duration publish_timeout_;
};

}  // namespace rentmesh::delivery
