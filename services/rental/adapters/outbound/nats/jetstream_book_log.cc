#include "rental/adapters/outbound/nats/jetstream_book_log.h"

#include "absl/strings/str_cat.h"
#include "rental/adapters/mapping.h"
#include "rentmesh/common/trace_context.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental {

std::string JetStreamBookLog::SubjectOf(absl::string_view book_id) {
  return absl::StrCat("rental.book.", book_id);
}

std::string JetStreamBookLog::CustomerSubjectOf(absl::string_view customer_id) {
  return absl::StrCat("rental.customer.", mapping::CustomerToken(customer_id));
}

absl::StatusOr<uint64_t> JetStreamBookLog::Publish(
    events::v1::Envelope& env, const std::string& subject, events::EnvelopeHeader header,
    absl::Time occurred_at, uint64_t expected_position, const EventContext& ctx) {
  header.causation_id = ctx.causation_id;
  header.occurred_at = occurred_at;
  header.producer = "rental";
  header.event_id = ctx.event_id;
  for (const auto& [k, v] : ctx.trace) {
    if (k == "traceparent")
      header.trace.traceparent = v;
    else if (k == "tracestate")
      header.trace.tracestate = v;
    else if (k == "x-request-id")
      header.trace.request_id = v;
    else
      header.trace.b3[k] = v;
  }
  events::Seal(header, env);
  absl::StatusOr<nats::PubAck> ack =
      js_.Publish(events::ToPublishRequest(env, subject, expected_position));
  if (!ack.ok()) return ack.status();
  return ack->sequence;
}

absl::StatusOr<uint64_t> JetStreamBookLog::Append(const domain::BookEvent& event,
                                                  absl::Time occurred_at,
                                                  uint64_t expected_position,
                                                  const EventContext& ctx) {
  events::v1::Envelope env;
  mapping::SetPayload(event, env);
  const std::string& book_id = domain::BookIdOf(event);
  std::string rental_id = domain::RentalIdOf(event);
  events::EnvelopeHeader header;
  header.aggregate_type = "book";
  header.aggregate_id = book_id;
  header.correlation_id = rental_id.empty() ? book_id : rental_id;
  return Publish(env, SubjectOf(book_id), std::move(header), occurred_at, expected_position, ctx);
}

absl::StatusOr<uint64_t> JetStreamBookLog::AppendTier(const domain::CustomerTierSet& event,
                                                      absl::Time occurred_at,
                                                      uint64_t expected_position,
                                                      const EventContext& ctx) {
  events::v1::Envelope env;
  mapping::SetPayload(event, env);
  events::EnvelopeHeader header;
  header.aggregate_type = "customer";
  header.aggregate_id = event.customer_id;
  header.correlation_id = event.customer_id;
  return Publish(env, CustomerSubjectOf(event.customer_id), std::move(header), occurred_at,
                 expected_position, ctx);
}

absl::Status JetStreamBookLog::CatchUp(absl::Time deadline) { return follower_.CatchUp(deadline); }

absl::Status JetStreamBookLog::WaitApplied(uint64_t position, absl::Time deadline) {
  return follower_.WaitApplied(position, deadline);
}

}  // namespace rentmesh::rental
