#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "payment/core/domain/money.h"

namespace rentmesh::payment {

enum class PaymentKind { kRentalFee, kLateFee };

// APPROVED -> REFUNDED (cancel or Refund) or VOIDED (the rental was abandoned);
// DECLINED is final. A VOIDED rental fee may also exist without a charge: the
// tombstone that declines a late Pay for an abandoned rental.
enum class PaymentStatus { kApproved, kDeclined, kRefunded, kVoided };

// One payment of a rental, as the events of its rental made it.
struct Payment {
  std::string payment_id;
  std::string rental_id;
  std::string customer_id;
  PaymentKind kind = PaymentKind::kRentalFee;
  PaymentStatus status = PaymentStatus::kApproved;
  Money amount;
  std::string decline_reason;
  // What was given back: the refund, or the charge a void reversed.
  Money refunded;
  std::string refund_reason;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> refunded_at;
  // Late fees only: the return that assessed it.
  std::string return_id;
  // Stream sequence of the last event that changed this payment.
  uint64_t last_sequence = 0;
};

}  // namespace rentmesh::payment
