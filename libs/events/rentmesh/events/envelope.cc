#include "rentmesh/events/envelope.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rentmesh/common/ids.h"

namespace rentmesh::events {

std::string EventTypeOf(const v1::Envelope& envelope) {
  const google::protobuf::Reflection* refl = envelope.GetReflection();
  const google::protobuf::OneofDescriptor* oneof =
      envelope.GetDescriptor()->FindOneofByName("payload");
  const google::protobuf::FieldDescriptor* field = refl->GetOneofFieldDescriptor(envelope, oneof);
  return field == nullptr ? std::string() : field->message_type()->name();
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (ts.nanos() < 0) {
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + 1000000000);
  }
  return ts;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void Seal(const EnvelopeHeader& header, v1::Envelope& envelope) {
  envelope.set_event_id(header.event_id.empty() ? NewId("evt-") : header.event_id);
  envelope.set_event_type(EventTypeOf(envelope));
  envelope.set_aggregate_type(header.aggregate_type);
  envelope.set_aggregate_id(header.aggregate_id);
  envelope.set_aggregate_version(header.aggregate_version);
  envelope.set_correlation_id(header.correlation_id);
  envelope.set_causation_id(header.causation_id);
  *envelope.mutable_occurred_at() = ToProtoTime(header.occurred_at);
  envelope.set_producer(header.producer);
  auto* trace = envelope.mutable_trace();
  trace->set_traceparent(header.trace.traceparent);
  trace->set_tracestate(header.trace.tracestate);
  trace->set_request_id(header.trace.request_id);
  for (const auto& [k, v] : header.trace.b3) (*trace->mutable_b3())[k] = v;
}

nats::PublishRequest ToPublishRequest(const v1::Envelope& envelope, std::string subject,
                                      std::optional<uint64_t> expected_last_subject_seq) {
  nats::PublishRequest req;
  req.subject = std::move(subject);
  envelope.SerializeToString(&req.data);
  req.msg_id = envelope.event_id();
  req.expected_last_subject_seq = expected_last_subject_seq;
  req.headers[kEventTypeHeader] = envelope.event_type();
  if (!envelope.correlation_id().empty())
    req.headers[kCorrelationHeader] = envelope.correlation_id();
  const auto& t = envelope.trace();
  if (!t.traceparent().empty()) req.headers["traceparent"] = t.traceparent();
  if (!t.tracestate().empty()) req.headers["tracestate"] = t.tracestate();
  if (!t.request_id().empty()) req.headers["x-request-id"] = t.request_id();
  for (const auto& [k, v] : t.b3()) req.headers[k] = v;
  return req;
}

absl::StatusOr<v1::Envelope> ParseEnvelope(const nats::StreamMessage& msg) {
  v1::Envelope env;
  if (!env.ParseFromString(msg.data)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", msg.sequence, " on ", msg.subject, " is not an event envelope"));
  }
  return env;
}

absl::string_view OwnerOfSubject(absl::string_view subject) {
  if (absl::StartsWith(subject, "rental.")) return "rental";
  if (absl::StartsWith(subject, "payment.")) return "payment";
  if (absl::StartsWith(subject, "returns.")) return "returns";
  if (absl::StartsWith(subject, "delivery.")) return "delivery";
  return "";
}

absl::StatusOr<v1::Envelope> ParseTrustedEnvelope(const nats::StreamMessage& msg) {
  absl::StatusOr<v1::Envelope> env = ParseEnvelope(msg);
  if (!env.ok()) return env.status();
  if (env->event_id().empty() || EventTypeOf(*env).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("message ", msg.sequence, " on ", msg.subject,
                                                   " has no event id or no payload"));
  }
  absl::string_view owner = OwnerOfSubject(msg.subject);
  if (owner.empty() || env->producer() != owner) {
    return absl::PermissionDeniedError(absl::StrCat("message ", msg.sequence, " on ", msg.subject,
                                                    " claims producer \"", env->producer(),
                                                    "\", which does not own that stream"));
  }
  return env;
}

}  // namespace rentmesh::events
