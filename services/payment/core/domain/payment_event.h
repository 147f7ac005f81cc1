#pragma once

#include <string>

#include "absl/time/time.h"
#include "payment/core/domain/money.h"

namespace rentmesh::payment {

// The facts the payment context records, one per change of a payment. They
// live on the rental's aggregate subject, in order.
enum class PaymentEventType {
  kApproved,        // a rental fee was charged
  kDeclined,        // a rental fee was refused; `reason` says why
  kRefunded,        // `amount` was given back; `reason` says why
  kVoided,          // the rental was abandoned; `amount` reversed (0: tombstone)
  kLateFeeCharged,  // a late fee of `amount` for `return_id` was charged
};

struct PaymentEvent {
  PaymentEventType type = PaymentEventType::kApproved;
  std::string payment_id;
  std::string rental_id;
  std::string customer_id;
  Money amount;
  std::string reason;
  std::string return_id;
  absl::Time occurred_at = absl::UnixEpoch();
};

// The payload's name in the event contract ("PaymentApproved", ...).
inline const char* EventTypeName(PaymentEventType type) {
  switch (type) {
    case PaymentEventType::kApproved:
      return "PaymentApproved";
    case PaymentEventType::kDeclined:
      return "PaymentDeclined";
    case PaymentEventType::kRefunded:
      return "PaymentRefunded";
    case PaymentEventType::kVoided:
      return "PaymentVoided";
    case PaymentEventType::kLateFeeCharged:
      return "LateFeeCharged";
  }
  return "Unknown";
}

}  // namespace rentmesh::payment
