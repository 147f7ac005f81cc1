#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rentmesh/common/trace_context.h"
#include "rentmesh/events/v1/events.pb.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::events {

using nats::kEventTypeHeader;
inline constexpr char kCorrelationHeader[] = "Rentmesh-Correlation-Id";

// Stream names and subjects (see proto/rentmesh/events/v1/events.proto).
inline constexpr char kRentalStream[] = "RENTAL";
inline constexpr char kPaymentStream[] = "PAYMENT";
inline constexpr char kReturnsStream[] = "RETURNS";
inline constexpr char kDeliveryStream[] = "DELIVERY";

// What every envelope carries besides its payload.
struct EnvelopeHeader {
  std::string aggregate_type;
  std::string aggregate_id;
  uint64_t aggregate_version = 0;
  std::string correlation_id;
  std::string causation_id;
  absl::Time occurred_at;
  TraceContext trace;
  std::string producer;
  // Empty: a new random id. Set it to a derived id where a retried command
  // must produce the very same event (then Nats-Msg-Id drops the copy).
  std::string event_id;
};

// Fills the header fields and event_type (the payload's message name, e.g.
// "BookRented"); `envelope` must already hold its payload.
void Seal(const EnvelopeHeader& header, v1::Envelope& envelope);

// The payload's short type name, "" when no payload is set.
std::string EventTypeOf(const v1::Envelope& envelope);

// A publish request for `envelope` on `subject`: body = serialized envelope,
// Nats-Msg-Id = event id, event type, correlation and trace headers.
nats::PublishRequest ToPublishRequest(const v1::Envelope& envelope, std::string subject,
                                      std::optional<uint64_t> expected_last_subject_seq);

// INVALID_ARGUMENT when the body is not an Envelope.
absl::StatusOr<v1::Envelope> ParseEnvelope(const nats::StreamMessage& msg);

// The service that owns the stream a subject belongs to ("rental" for
// "rental.>", "payment", "returns", "delivery"); "" for a subject of no rentmesh stream.
absl::string_view OwnerOfSubject(absl::string_view subject);

// A message as every consumer must take it: an Envelope whose producer owns
// the stream it was found on, with an event id and a payload. PERMISSION_DENIED
// for a foreign producer, INVALID_ARGUMENT for anything else that is not one
// of our events. Such a message is set aside (counted, logged with subject and
// sequence), never applied and never allowed to block a consumer.
absl::StatusOr<v1::Envelope> ParseTrustedEnvelope(const nats::StreamMessage& msg);

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

}  // namespace rentmesh::events
