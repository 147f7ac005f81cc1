#include "payment/adapters/events/payment_event_codec.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

namespace ev = ::rentmesh::events::v1;

void ToProto(const Money& m, common::v1::Money& out) {
  out.set_currency(m.currency);
  out.set_amount_minor(m.amount_minor);
}

Money FromProto(const common::v1::Money& m) { return Money{m.currency(), m.amount_minor()}; }

// The ids every payment event carries, into and out of its payload.
template <typename Payload>
void PutIds(const PaymentEvent& e, Payload& p) {
  p.set_payment_id(e.payment_id);
  p.set_rental_id(e.rental_id);
  p.set_customer_id(e.customer_id);
}
template <typename Payload>
void SetIds(const Payload& p, PaymentEvent& e) {
  e.payment_id = p.payment_id();
  e.rental_id = p.rental_id();
  e.customer_id = p.customer_id();
}

}  // namespace

nats::StreamSpec PaymentStreamSpec(int replicas) {
  return {events::kPaymentStream, {"payment.>"}, replicas, absl::Minutes(2)};
}
nats::StreamSpec RentalStreamSpec(int replicas) {
  return {events::kRentalStream, {"rental.>"}, replicas, absl::Minutes(2)};
}
nats::StreamSpec ReturnsStreamSpec(int replicas) {
  return {events::kReturnsStream, {"returns.>"}, replicas, absl::Minutes(2)};
}

std::string AggregateSubject(absl::string_view rental_id) {
  return absl::StrCat(kAggregateSubjectPrefix, rental_id);
}

std::optional<std::string> RentalIdOfSubject(absl::string_view subject) {
  if (!absl::ConsumePrefix(&subject, kAggregateSubjectPrefix) || subject.empty()) {
    return std::nullopt;
  }
  return std::string(subject);
}

void SetPayload(const PaymentEvent& e, ev::Envelope& envelope) {
  switch (e.type) {
    case PaymentEventType::kApproved: {
      ev::PaymentApproved* p = envelope.mutable_payment_approved();
      PutIds(e, *p);
      ToProto(e.amount, *p->mutable_amount());
      return;
    }
    case PaymentEventType::kDeclined: {
      ev::PaymentDeclined* p = envelope.mutable_payment_declined();
      PutIds(e, *p);
      ToProto(e.amount, *p->mutable_amount());
      p->set_reason(e.reason);
      return;
    }
    case PaymentEventType::kRefunded: {
      ev::PaymentRefunded* p = envelope.mutable_payment_refunded();
      PutIds(e, *p);
      ToProto(e.amount, *p->mutable_amount());
      p->set_reason(e.reason);
      return;
    }
    case PaymentEventType::kVoided: {
      ev::PaymentVoided* p = envelope.mutable_payment_voided();
      PutIds(e, *p);
      ToProto(e.amount, *p->mutable_amount_reversed());
      p->set_reason(e.reason);
      return;
    }
    case PaymentEventType::kLateFeeCharged: {
      ev::LateFeeCharged* p = envelope.mutable_late_fee_charged();
      PutIds(e, *p);
      ToProto(e.amount, *p->mutable_amount());
      p->set_return_id(e.return_id);
      return;
    }
  }
}

std::optional<PaymentEvent> PaymentEventOf(const ev::Envelope& envelope) {
  PaymentEvent e;
  e.occurred_at = events::FromProtoTime(envelope.occurred_at());
  switch (envelope.payload_case()) {
    case ev::Envelope::kPaymentApproved: {
      const auto& p = envelope.payment_approved();
      e.type = PaymentEventType::kApproved;
      SetIds(p, e);
      e.amount = FromProto(p.amount());
      return e;
    }
    case ev::Envelope::kPaymentDeclined: {
      const auto& p = envelope.payment_declined();
      e.type = PaymentEventType::kDeclined;
      SetIds(p, e);
      e.amount = FromProto(p.amount());
      e.reason = p.reason();
      return e;
    }
    case ev::Envelope::kPaymentRefunded: {
      const auto& p = envelope.payment_refunded();
      e.type = PaymentEventType::kRefunded;
      SetIds(p, e);
      e.amount = FromProto(p.amount());
      e.reason = p.reason();
      return e;
    }
    case ev::Envelope::kPaymentVoided: {
      const auto& p = envelope.payment_voided();
      e.type = PaymentEventType::kVoided;
      SetIds(p, e);
      e.amount = FromProto(p.amount_reversed());
      e.reason = p.reason();
      return e;
    }
    case ev::Envelope::kLateFeeCharged: {
      const auto& p = envelope.late_fee_charged();
      e.type = PaymentEventType::kLateFeeCharged;
      SetIds(p, e);
      e.amount = FromProto(p.amount());
      e.return_id = p.return_id();
      return e;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace rentmesh::payment
