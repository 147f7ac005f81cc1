#pragma once

#include <cstdint>

#include "payment/core/ports/payment_event_log.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::payment {

// PaymentEventLog on the PAYMENT stream: each event is an Envelope on
// "payment.rental.<rental_id>", appended with Nats-Expected-Last-Subject-Sequence
// and a Nats-Msg-Id derived from the payment and the event type (each payment
// has at most one event of each type, so a retried append is dropped by the
// server as a duplicate). The local StreamFollower tells what is applied.
//
// Failpoints: "payment.before_append" and "payment.after_append".
class JetStreamPaymentEventLog final : public PaymentEventLog {
 public:
  JetStreamPaymentEventLog(nats::JetStream& js, const nats::StreamFollower& follower,
                           const Failpoints& failpoints)
      : js_(js), follower_(follower), failpoints_(failpoints) {}

  // PaymentEventLog
  absl::StatusOr<uint64_t> Append(const PaymentEvent& event, uint64_t version,
                                  uint64_t expected_sequence,
                                  const EventMetadata& metadata) override;
  absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) override;
  absl::Status CatchUp(absl::Time deadline) override;

 private:
  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
  const Failpoints& failpoints_;
};

}  // namespace rentmesh::payment
