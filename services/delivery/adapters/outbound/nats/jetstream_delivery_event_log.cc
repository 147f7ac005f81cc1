#include "adapters/outbound/nats/jetstream_delivery_event_log.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/proto/delivery_mapping.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::delivery {
namespace {

events::EnvelopeHeader HeaderOf(const EventTrace& trace) {
  events::EnvelopeHeader header;
  header.causation_id = trace.request_id;
  header.trace = {trace.traceparent, trace.tracestate, trace.request_id, trace.b3};
  header.producer = "delivery";
  return header;
}

}  // namespace

nats::StreamSpec JetStreamDeliveryEventLog::Stream(int replicas) {
  nats::StreamSpec spec;
  spec.name = events::kDeliveryStream;
  spec.subjects = {"delivery.>"};
  spec.replicas = replicas;
  return spec;
}

std::string JetStreamDeliveryEventLog::DeliverySubject(absl::string_view rental_id,
                                                       DeliveryKind kind) {
  return absl::StrCat("delivery.rental.", rental_id, ".", absl::AsciiStrToLower(KindName(kind)));
}

std::string JetStreamDeliveryEventLog::CourierSubject(absl::string_view courier_id) {
  return absl::StrCat("delivery.courier.", courier_id);
}

absl::StatusOr<AppendResult> JetStreamDeliveryEventLog::AppendDeliveryEvent(
    const DeliveryEvent& event, uint64_t expected_sequence, const EventTrace& trace) {
  events::v1::Envelope envelope;
  ToEnvelopePayload(event, envelope);
  events::EnvelopeHeader header = HeaderOf(trace);
  header.aggregate_type = "delivery";
  header.aggregate_id = event.delivery_id;
  header.aggregate_version = event.version;
  header.correlation_id = event.rental_id;
  header.occurred_at = event.at;
  // Each transition happens at most once per delivery, so a retry of this
  // append (any replica, within the duplicate window) carries the same
  // Nats-Msg-Id and is dropped by the server.
  header.event_id = DerivedId("evt-", {event.delivery_id, EventTypeName(event.type)});
  events::Seal(header, envelope);
  nats::PublishRequest request = events::ToPublishRequest(
      envelope, DeliverySubject(event.rental_id, event.kind), expected_sequence);
  request.timeout = publish_timeout_;
  absl::StatusOr<nats::PubAck> ack = js_.Publish(request);
  if (!ack.ok()) return ack.status();
  return AppendResult{ack->sequence, ack->duplicate};
}

absl::StatusOr<AppendResult> JetStreamDeliveryEventLog::AppendCourierAdded(
    const Courier& courier, const EventTrace& trace) {
  events::v1::Envelope envelope;
  *envelope.mutable_courier_added() = ToCourierAdded(courier);
  events::EnvelopeHeader header = HeaderOf(trace);
  header.aggregate_type = "courier";
  header.aggregate_id = courier.courier_id;
  header.aggregate_version = 1;
  header.occurred_at = courier.added_at;
  header.event_id = DerivedId("evt-", {courier.courier_id, "CourierAdded"});
  events::Seal(header, envelope);
  nats::PublishRequest request = events::ToPublishRequest(
      envelope, CourierSubject(courier.courier_id), /*expected_last_subject_seq=*/0);
  request.timeout = publish_timeout_;
  absl::StatusOr<nats::PubAck> ack = js_.Publish(request);
  if (!ack.ok()) return ack.status();
  return AppendResult{ack->sequence, ack->duplicate};
}

absl::Status JetStreamDeliveryEventLog::WaitApplied(uint64_t sequence, absl::Time deadline) {
  return follower_.WaitApplied(sequence, deadline);
}

absl::Status JetStreamDeliveryEventLog::CatchUp(absl::Time deadline) {
  return follower_.CatchUp(deadline);
}

}  // namespace rentmesh::delivery
