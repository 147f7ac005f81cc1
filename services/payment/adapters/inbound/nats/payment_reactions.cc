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
  absl::StatusOr<ev::Envelope> envelope = events::ParseTrustedEnvelope(msg);
  if (!envelope.ok()) {
    ++untrusted_;
    if (observer_ != nullptr) observer_->Untrusted(kConsumer);
    LogWarn("setting aside a message that is not one of ours",
            {{"subject", msg.subject},
             {"sequence", absl::StrCat(msg.sequence)},
             {"error", envelope.status().ToString()}});
    return envelope.status();  // permanent: dead-lettered at once
  }
  const ev::Envelope& e = *envelope;
  switch (e.payload_case()) {
    case ev::Envelope::kRentalCancelled:
    case ev::Envelope::kRentalAborted:
      break;
    case ev::Envelope::kBookReturned:
      if (e.book_returned().late_fee().amount_minor() <= 0) return absl::OkStatus();
      break;
    default:
      return absl::OkStatus();
  }
  absl::StatusOr<bool> effective = effects_.Effective(msg.sequence, absl::Now() + kHandlingBudget);
  if (!effective.ok()) return Annotate(effective.status(), e);  // transient: retried
  if (!*effective) {
    ++ineffective_;
    if (observer_ != nullptr) observer_->Ineffective(kConsumer, e.event_type());
    LogInfo("event did not apply to the rental; nothing to do",
            {{"subject", msg.subject},
             {"sequence", absl::StrCat(msg.sequence)},
             {"event_type", e.event_type()},
             {"event_id", e.event_id()}});
    return absl::OkStatus();
  }
  switch (e.payload_case()) {
    case ev::Envelope::kRentalCancelled: {
      const ev::RentalCancelled& c = e.rental_cancelled();
      absl::Status s = payments_.RefundCancelledRental(c.rental_id(), c.reason(), ContextOf(e));
      if (absl::IsNotFound(s)) {
        // The cancel applied, so the rental was RENTED, so its fee was
        // charged: a fee this replica does not know is lag, never a reason to
        // give up. Seen on a cluster: a node cut off from the others still
        // answers stream info with what it holds, so catching up "to the end"
        // can stop short of the charge. Retried until the charge is here.
        s = absl::UnavailableError(absl::StrCat(
            "the charge of the cancelled rental is not folded here yet (", s.message(), ")"));
      }
      return Annotate(s, e);
    }
    case ev::Envelope::kRentalAborted: {
      const ev::RentalAborted& a = e.rental_aborted();
      return Annotate(
          payments_.VoidAbandonedRental(a.rental_id(), a.customer_id(), a.reason(), ContextOf(e)),
          e);
    }
    case ev::Envelope::kBookReturned: {
      const ev::BookReturned& r = e.book_returned();
      return Annotate(
          payments_.ChargeLateFee(r.rental_id(), r.return_id(), r.customer_id(),
                                  Money{r.late_fee().currency(), r.late_fee().amount_minor()},
                                  ContextOf(e)),
          e);
    }
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> PaymentReactionConsumers::Start(
    nats::JetStream& js, PaymentReactions& reactions, const Options& options) {
  if (absl::Status s = js.EnsureStream(RentalStreamSpec(options.stream_replicas)); !s.ok()) {
    return s;
  }
  // Late fees used to be charged on returns' ReturnCompleted by this durable;
  // left in place it would only pile up undelivered messages.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_DeleteConsumer(js.context(), events::kReturnsStream, kRetiredReturnsDurable, nullptr,
                        &jerr) == NATS_OK) {
    LogInfo("deleted the retired durable", {{"durable", kRetiredReturnsDurable}});
  }
  nats::DurableConsumer::Options rental_opts;
  rental_opts.stream = events::kRentalStream;
  rental_opts.durable = kRentalDurable;
  rental_opts.filter_subject = "rental.>";
  rental_opts.max_deliver = options.max_deliver;
  rental_opts.backoff_initial = options.backoff_initial;
  rental_opts.backoff_max = options.backoff_max;
  rental_opts.fetch_wait = options.fetch_wait;
  rental_opts.dead_letter_replicas = options.stream_replicas;
  rental_opts.dead_letter_max_age = options.dead_letter_max_age;
  rental_opts.dead_letter_max_bytes = options.dead_letter_max_bytes;
  absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> rental = nats::DurableConsumer::Start(
      js, rental_opts,
      [&reactions](const nats::StreamMessage& m) { return reactions.OnRentalEvent(m); });
  if (!rental.ok()) return rental.status();
  return std::unique_ptr<PaymentReactionConsumers>(
      new PaymentReactionConsumers(std::move(*rental)));
}

}  // namespace rentmesh::payment
