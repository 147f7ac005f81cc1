#pragma once

#include <cstdint>
#include <string_view>

// Which events of the PAYMENT stream take effect.
//
// Payment appends to a rental's subject with an expected subject sequence,
// and on a JetStream cluster that check can let two appends decided against
// the same state both be stored (docs/cluster.md): a Pay and the void of an
// abandoned rental, say, both written while the rental had no payment. So
// payment's fold and every audit of the stream apply an event only where it
// fits the payment as folded so far, in stream order, and count the rest:
//
//   - a payment is created once (approved, declined or charged as a late fee);
//   - a refund or a void reverses an approved charge, once, and only by the
//     amount that was charged;
//   - the tombstone (a void of nothing: amount 0) marks a rental abandoned
//     before any payment, so it applies only where the payment does not exist;
//     it never voids a charge stored before it.
namespace rentmesh::rules {

// Where one payment id stands.
enum class PaymentPhase {
  kAbsent,
  kCharged,  // approved rental fee, or a late fee
  kDeclined,
  kReversed,   // refunded, or voided after a charge
  kTombstone,  // voided before any charge
};

enum class PaymentEventKind {
  kApproved,
  kDeclined,
  kLateFeeCharged,
  kRefunded,
  kVoided,  // amount 0: the tombstone
};

enum class PaymentVerdict {
  kApplies,
  kPaymentExists,   // a creation (or a tombstone) for a payment that exists
  kPaymentUnknown,  // a reversal of a payment never created
  kNotCharged,      // a reversal of a payment that is not an outstanding charge
  kAmountDiffers,   // a reversal of another amount than was charged
};

constexpr std::string_view PaymentVerdictName(PaymentVerdict v) {
  switch (v) {
    case PaymentVerdict::kApplies:
      return "applies";
    case PaymentVerdict::kPaymentExists:
      return "payment_exists";
    case PaymentVerdict::kPaymentUnknown:
      return "payment_unknown";
    case PaymentVerdict::kNotCharged:
      return "not_charged";
    case PaymentVerdict::kAmountDiffers:
      return "amount_differs";
  }
  return "unknown";
}

// Whether an event of `kind` moving `amount_minor` applies to a payment in
// `phase` that charged `charged_minor`.
constexpr PaymentVerdict CheckPayment(PaymentPhase phase, int64_t charged_minor,
                                      PaymentEventKind kind, int64_t amount_minor) {
  const bool tombstone = kind == PaymentEventKind::kVoided && amount_minor == 0;
  switch (kind) {
    case PaymentEventKind::kApproved:
    case PaymentEventKind::kDeclined:
    case PaymentEventKind::kLateFeeCharged:
      return phase == PaymentPhase::kAbsent ? PaymentVerdict::kApplies
                                            : PaymentVerdict::kPaymentExists;
    case PaymentEventKind::kRefunded:
    case PaymentEventKind::kVoided:
      if (tombstone) {
        return phase == PaymentPhase::kAbsent ? PaymentVerdict::kApplies
                                              : PaymentVerdict::kPaymentExists;
      }
      if (phase == PaymentPhase::kAbsent) return PaymentVerdict::kPaymentUnknown;
      if (phase != PaymentPhase::kCharged) return PaymentVerdict::kNotCharged;
      return amount_minor == charged_minor ? PaymentVerdict::kApplies
                                           : PaymentVerdict::kAmountDiffers;
  }
  return PaymentVerdict::kApplies;
}

// The phase an applicable event leaves its payment in.
constexpr PaymentPhase PaymentPhaseAfter(PaymentEventKind kind, int64_t amount_minor) {
  switch (kind) {
    case PaymentEventKind::kApproved:
    case PaymentEventKind::kLateFeeCharged:
      return PaymentPhase::kCharged;
    case PaymentEventKind::kDeclined:
      return PaymentPhase::kDeclined;
    case PaymentEventKind::kRefunded:
      return PaymentPhase::kReversed;
    case PaymentEventKind::kVoided:
      return amount_minor == 0 ? PaymentPhase::kTombstone : PaymentPhase::kReversed;
  }
  return PaymentPhase::kAbsent;
}

}  // namespace rentmesh::rules
