#include "payment/core/domain/rental_payments.h"

namespace rentmesh::payment {

const Payment* RentalPayments::Find(absl::string_view payment_id) const {
  for (const Payment& p : payments_) {
    if (p.payment_id == payment_id) return &p;
  }
  return nullptr;
}

Payment* RentalPayments::FindMutable(absl::string_view payment_id) {
  return const_cast<Payment*>(static_cast<const RentalPayments*>(this)->Find(payment_id));
}

namespace {

rules::PaymentEventKind KindOf(PaymentEventType type) {
  switch (type) {
    case PaymentEventType::kApproved:
      return rules::PaymentEventKind::kApproved;
    case PaymentEventType::kDeclined:
      return rules::PaymentEventKind::kDeclined;
    case PaymentEventType::kRefunded:
      return rules::PaymentEventKind::kRefunded;
    case PaymentEventType::kVoided:
      return rules::PaymentEventKind::kVoided;
    case PaymentEventType::kLateFeeCharged:
      return rules::PaymentEventKind::kLateFeeCharged;
  }
  return rules::PaymentEventKind::kApproved;
}

rules::PaymentPhase PhaseOf(const Payment* p) {
  if (p == nullptr) return rules::PaymentPhase::kAbsent;
  switch (p->status) {
    case PaymentStatus::kApproved:
      return rules::PaymentPhase::kCharged;
    case PaymentStatus::kDeclined:
      return rules::PaymentPhase::kDeclined;
    case PaymentStatus::kRefunded:
      return rules::PaymentPhase::kReversed;
    case PaymentStatus::kVoided:
      return p->refunded.amount_minor > 0 ? rules::PaymentPhase::kReversed
                                          : rules::PaymentPhase::kTombstone;
  }
  return rules::PaymentPhase::kAbsent;
}

}  // namespace

rules::PaymentVerdict RentalPayments::Apply(const PaymentEvent& event, uint64_t sequence) {
  if (sequence <= last_sequence_) return rules::PaymentVerdict::kApplies;
  last_sequence_ = sequence;
  ++version_;

  Payment* existing = FindMutable(event.payment_id);
  const rules::PaymentVerdict verdict = rules::CheckPayment(
      PhaseOf(existing), existing == nullptr ? 0 : existing->amount.amount_minor,
      KindOf(event.type), event.amount.amount_minor);
  if (verdict != rules::PaymentVerdict::kApplies) return verdict;
  switch (event.type) {
    case PaymentEventType::kApproved:
    case PaymentEventType::kDeclined:
    case PaymentEventType::kLateFeeCharged: {
      Payment p;
      p.payment_id = event.payment_id;
      p.rental_id = rental_id_;
      p.customer_id = event.customer_id;
      p.kind = event.type == PaymentEventType::kLateFeeCharged ? PaymentKind::kLateFee
                                                               : PaymentKind::kRentalFee;
      p.status = event.type == PaymentEventType::kDeclined ? PaymentStatus::kDeclined
                                                           : PaymentStatus::kApproved;
      p.amount = event.amount;
      if (event.type == PaymentEventType::kDeclined) p.decline_reason = event.reason;
      p.return_id = event.return_id;
      p.created_at = event.occurred_at;
      p.last_sequence = sequence;
      payments_.push_back(std::move(p));
      break;
    }
    case PaymentEventType::kRefunded:
    case PaymentEventType::kVoided:
      if (existing == nullptr) {
        // The tombstone: the rental was abandoned before any payment.
        Payment p;
        p.payment_id = event.payment_id;
        p.rental_id = rental_id_;
        p.customer_id = event.customer_id;
        p.kind = PaymentKind::kRentalFee;
        p.status = PaymentStatus::kVoided;
        p.amount = Money{event.amount.currency, 0};
        p.refunded = event.amount;
        p.refund_reason = event.reason;
        p.created_at = event.occurred_at;
        p.refunded_at = event.occurred_at;
        p.last_sequence = sequence;
        payments_.push_back(std::move(p));
        break;
      }
      existing->status = event.type == PaymentEventType::kRefunded ? PaymentStatus::kRefunded
                                                                   : PaymentStatus::kVoided;
      existing->refunded = event.amount;
      existing->refund_reason = event.reason;
      existing->refunded_at = event.occurred_at;
      existing->last_sequence = sequence;
      break;
  }
  return rules::PaymentVerdict::kApplies;
}

}  // namespace rentmesh::payment
