#include "payment/adapters/inbound/nats/payment_reactions.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

namespace ev = ::rentmesh::events::v1;

// How long one event's handling may take before the consumer gives it back.
constexpr absl::Duration kHandlingBudget = absl::Seconds(10);

bool Handles(const std::string& type) {
  return type == "RentalCancelled" || type == "RentalAborted" || type == "ReturnCompleted";
}

// Parses the envelope unless the type header says it is of no interest
// (nullopt with OK). INVALID_ARGUMENT for a body that is not an envelope.
absl::StatusOr<std::optional<ev::Envelope>> Relevant(const nats::StreamMessage& msg) {
  const std::string type_header = msg.Header(events::kEventTypeHeader);
  if (!type_header.empty() && !Handles(type_header)) return std::optional<ev::Envelope>();
  absl::StatusOr<ev::Envelope> envelope = events::ParseEnvelope(msg);
  if (!envelope.ok()) return envelope.status();
  return std::optional<ev::Envelope>(std::move(*envelope));
}

RequestContext ContextOf(const ev::Envelope& envelope) {
  RequestContext rc;
  rc.deadline = absl::Now() + kHandlingBudget;
  rc.metadata.causation_id = envelope.event_id();
  const ev::TraceContext& t = envelope.trace();
  if (!t.traceparent().empty()) rc.metadata.trace_headers["traceparent"] = t.traceparent();
  if (!t.tracestate().empty()) rc.metadata.trace_headers["tracestate"] = t.tracestate();
  if (!t.request_id().empty()) rc.metadata.trace_headers["x-request-id"] = t.request_id();
  for (const auto& [k, v] : t.b3()) rc.metadata.trace_headers[k] = v;
  return rc;
}

absl::Status Annotate(absl::Status s, const ev::Envelope& envelope) {
  if (s.ok()) return s;
  return absl::Status(
      s.code(), absl::StrCat(envelope.event_type(), " ", envelope.event_id(), ": ", s.message()));
}

}  // namespace

absl::Status PaymentReactions::OnRentalEvent(const nats::StreamMessage& msg) {
  absl::StatusOr<std::optional<ev::Envelope>> envelope = Relevant(msg);
  if (!envelope.ok()) return envelope.status();
  if (!envelope->has_value()) return absl::OkStatus();
  const ev::Envelope& e = **envelope;
  switch (e.payload_case()) {
    case ev::Envelope::kRentalCancelled: {
      const ev::RentalCancelled& c = e.rental_cancelled();
      return Annotate(payments_.RefundCancelledRental(c.rental_id(), c.reason(), ContextOf(e)), e);
    }
    case ev::Envelope::kRentalAborted: {
      const ev::RentalAborted& a = e.rental_aborted();
      return Annotate(
          payments_.VoidAbandonedRental(a.rental_id(), a.customer_id(), a.reason(), ContextOf(e)),
          e);
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status PaymentReactions::OnReturnsEvent(const nats::StreamMessage& msg) {
  absl::StatusOr<std::optional<ev::Envelope>> envelope = Relevant(msg);
  if (!envelope.ok()) return envelope.status();
  if (!envelope->has_value()) return absl::OkStatus();
  const ev::Envelope& e = **envelope;
  if (e.payload_case() != ev::Envelope::kReturnCompleted) return absl::OkStatus();
  const ev::ReturnCompleted& r = e.return_completed();
  if (r.total_fee().amount_minor() <= 0) return absl::OkStatus();
  return Annotate(payments_.ChargeLateFee(
                      r.rental_id(), r.return_id(), r.customer_id(),
                      Money{r.total_fee().currency(), r.total_fee().amount_minor()}, ContextOf(e)),
                  e);
}

absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> PaymentReactionConsumers::Start(
    nats::JetStream& js, PaymentReactions& reactions, const Options& options) {
  if (absl::Status s = js.EnsureStream(RentalStreamSpec(options.stream_replicas)); !s.ok()) {
    return s;
  }
  if (absl::Status s = js.EnsureStream(ReturnsStreamSpec(options.stream_replicas)); !s.ok()) {
    return s;
  }
  nats::DurableConsumer::Options rental_opts;
  rental_opts.stream = events::kRentalStream;
  rental_opts.durable = kRentalDurable;
  rental_opts.filter_subject = "rental.>";
  rental_opts.max_deliver = options.max_deliver;
  rental_opts.fetch_wait = options.fetch_wait;
  rental_opts.dead_letter_replicas = options.stream_replicas;
  absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> rental = nats::DurableConsumer::Start(
      js, rental_opts,
      [&reactions](const nats::StreamMessage& m) { return reactions.OnRentalEvent(m); });
  if (!rental.ok()) return rental.status();

  nats::DurableConsumer::Options returns_opts = rental_opts;
  returns_opts.stream = events::kReturnsStream;
  returns_opts.durable = kReturnsDurable;
  returns_opts.filter_subject = "returns.>";
  absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> returns = nats::DurableConsumer::Start(
      js, returns_opts,
      [&reactions](const nats::StreamMessage& m) { return reactions.OnReturnsEvent(m); });
  if (!returns.ok()) return returns.status();
  return std::unique_ptr<PaymentReactionConsumers>(
      new PaymentReactionConsumers(std::move(*rental), std::move(*returns)));
}

}  // namespace rentmesh::payment
