#include "adapters/outbound/nats/jetstream_return_event_log.h"

#include "absl/strings/str_cat.h"
#include "adapters/proto/return_mapping.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::returns {

nats::StreamSpec JetStreamReturnEventLog::Stream(int replicas) {
  nats::StreamSpec spec;
  spec.name = events::kReturnsStream;
  spec.subjects = {"returns.>"};
  spec.replicas = replicas;
  return spec;
}

std::string JetStreamReturnEventLog::RentalSubject(absl::string_view rental_id) {
  return absl::StrCat("returns.rental.", rental_id);
}

absl::StatusOr<AppendResult> JetStreamReturnEventLog::AppendReturnCompleted(
    const ReturnInspection& inspection, const EventTrace& trace) {
  events::v1::Envelope envelope;
  *envelope.mutable_return_completed() = ToReturnCompleted(inspection);
  events::EnvelopeHeader header;
  header.aggregate_type = "return";
  header.aggregate_id = inspection.return_id;
  header.aggregate_version = 1;  // a return has exactly one event
  header.correlation_id = inspection.rental_id;
  header.causation_id = trace.request_id;
  header.occurred_at = inspection.returned_at;
  header.trace = {trace.traceparent, trace.tracestate, trace.request_id, trace.b3};
  header.producer = "returns";
  // A retry of this append (any replica, within the duplicate window) carries
  // the same Nats-Msg-Id and is dropped by the server.
  header.event_id = DerivedId("evt-", {inspection.return_id, "ReturnCompleted"});
  events::Seal(header, envelope);

  nats::PublishRequest request = events::ToPublishRequest(
      envelope, RentalSubject(inspection.rental_id), /*expected_last_subject_seq=*/0);
  request.timeout = publish_timeout_;
  failpoints_.Hit("returns.before_append");
  absl::StatusOr<nats::PubAck> ack = js_.Publish(request);
  if (!ack.ok()) return ack.status();
  failpoints_.Hit("returns.after_append");
  return AppendResult{ack->sequence, ack->duplicate};
}

absl::Status JetStreamReturnEventLog::WaitApplied(uint64_t sequence, absl::Time deadline) {
  return follower_.WaitApplied(sequence, deadline);
}

absl::Status JetStreamReturnEventLog::CatchUp(absl::Time deadline) {
  return follower_.CatchUp(deadline);
}

}  // namespace rentmesh::returns
