#include "payment/adapters/outbound/nats/jetstream_payment_event_log.h"

#include "payment/adapters/events/payment_event_codec.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/common/trace_context.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

TraceContext TraceFromHeaders(const std::map<std::string, std::string>& headers) {
  TraceContext t;
  for (const auto& [k, v] : headers) {
    if (k == "traceparent") {
      t.traceparent = v;
    } else if (k == "tracestate") {
      t.tracestate = v;
    } else if (k == "x-request-id") {
      t.request_id = v;
    } else {
      t.b3[k] = v;
    }
  }
  return t;
}

}  // namespace

absl::StatusOr<uint64_t> JetStreamPaymentEventLog::Append(const PaymentEvent& event,
                                                          uint64_t version,
                                                          uint64_t expected_sequence,
                                                          const EventMetadata& metadata) {
  events::v1::Envelope envelope;
  SetPayload(event, envelope);
  events::EnvelopeHeader header;
  header.aggregate_type = kAggregateType;
  header.aggregate_id = event.rental_id;
  header.aggregate_version = version;
  header.correlation_id = event.rental_id;
  header.causation_id = metadata.causation_id;
  header.occurred_at = event.occurred_at;
  header.trace = TraceFromHeaders(metadata.trace_headers);
  header.producer = kProducer;
  // One id per decision, so a retry is deduplicated by the server and by every
  // projection. The tombstone (a void of nothing) and a void that reverses a
  // charge are different decisions: on a cluster both can be stored for one
  // payment (the tombstone first, changing nothing), and the reversal must not
  // be taken for its copy.
  const bool tombstone = event.type == PaymentEventType::kVoided && event.amount.amount_minor == 0;
  header.event_id = DerivedId(
      "evt-", {event.payment_id, EventTypeName(event.type), tombstone ? "tombstone" : ""});
  events::Seal(header, envelope);

  failpoints_.Hit("payment.before_append");
  absl::StatusOr<nats::PubAck> ack = js_.Publish(
      events::ToPublishRequest(envelope, AggregateSubject(event.rental_id), expected_sequence));
  if (!ack.ok()) return ack.status();
  failpoints_.Hit("payment.after_append");
  return ack->sequence;
}

absl::Status JetStreamPaymentEventLog::WaitApplied(uint64_t sequence, absl::Time deadline) {
  return follower_.WaitApplied(sequence, deadline);
}

absl::Status JetStreamPaymentEventLog::CatchUp(absl::Time deadline) {
  return follower_.CatchUp(deadline);
}

}  // namespace rentmesh::payment
