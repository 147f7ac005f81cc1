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

void RentalPayments::Apply(const PaymentEvent& event, uint64_t sequence) {
  if (sequence <= last_sequence_) return;
  last_sequence_ = sequence;
  ++version_;

  Payment* existing = FindMutable(event.payment_id);
  switch (event.type) {
    case PaymentEventType::kApproved:
    case PaymentEventType::kDeclined:
    case PaymentEventType::kLateFeeCharged: {
      if (existing != nullptr) return;  // a payment is created once; a second creation is ignored
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
      return;
    }
    case PaymentEventType::kRefunded:
      if (existing == nullptr || existing->status != PaymentStatus::kApproved) return;
      existing->status = PaymentStatus::kRefunded;
      existing->refunded = event.amount;
      existing->refund_reason = event.reason;
      existing->refunded_at = event.occurred_at;
      existing->last_sequence = sequence;
      return;
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
        return;
      }
      if (existing->status != PaymentStatus::kApproved) return;
      existing->status = PaymentStatus::kVoided;
      existing->refunded = event.amount;
      existing->refund_reason = event.reason;
      existing->refunded_at = event.occurred_at;
      existing->last_sequence = sequence;
      return;
  }
}

}  // namespace rentmesh::payment
