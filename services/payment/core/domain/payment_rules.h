#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "payment/core/domain/money.h"
#include "payment/core/domain/payment_event.h"
#include "payment/core/domain/rental_payments.h"

namespace rentmesh::payment {

// The configurable business rules.
struct PaymentPolicy {
  // Rental fees above this are declined.
  int64_t max_amount_minor = 1000000;
};

// Amounts above this are not money anyone means (an overflow, a typo of
// several orders of magnitude): INVALID_ARGUMENT, not a decline.
inline constexpr int64_t kAbsurdAmountMinor = 1'000'000'000'000'000;
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxTextLength = 1024;

struct PayCommand {
  // The idempotency key: one rental fee per rental.
  std::string rental_id;
  std::string customer_id;
  Money amount;
  std::string description;
};

struct RefundCommand {
  std::string payment_id;
  std::string reason;
};

// Ids that name subjects and keys (rental and payment ids): 1..128 of
// [A-Za-z0-9_:-]. INVALID_ARGUMENT otherwise, naming `field`.
absl::Status ValidateKey(absl::string_view field, absl::string_view value);
// Customer ids: 1..128 bytes, no control characters.
absl::Status ValidateCustomerId(absl::string_view value);
// INVALID_ARGUMENT for missing ids, a currency that is not three upper-case
// letters, an amount <= 0 or absurd, an over-long description. Amounts above
// the policy's limit are valid input (they are declined, and that is recorded).
absl::Status ValidatePay(const PayCommand& cmd);
absl::Status ValidateRefund(const RefundCommand& cmd);

// What a command decides against the current state of the rental's payments:
// an event to append, or, when nothing is to be written, the answer.
struct Decision {
  std::optional<PaymentEvent> event;
  // Without an event: OK means "answer with the payment"; otherwise the error
  // to return.
  absl::Status answer;

  static Decision Append(PaymentEvent e) { return Decision{std::move(e), absl::OkStatus()}; }
  static Decision Answer(absl::Status s) { return Decision{std::nullopt, std::move(s)}; }
};

// First Pay: approved, or declined above the limit. A retry with the same
// customer and amount answers the first outcome (OK, or FAILED_PRECONDITION
// with the decline reason); other parameters are ALREADY_EXISTS; a voided
// rental is FAILED_PRECONDITION.
Decision DecidePay(const RentalPayments& state, const PayCommand& cmd, absl::string_view payment_id,
                   const PaymentPolicy& policy, absl::Time now);

// APPROVED -> REFUNDED in full; REFUNDED answers unchanged; DECLINED and
// VOIDED are FAILED_PRECONDITION; unknown is NOT_FOUND.
Decision DecideRefund(const RentalPayments& state, absl::string_view payment_id,
                      absl::string_view reason, absl::Time now);

// A cancelled rental: its approved fee is refunded in full; a fee that is
// refunded, declined or voided already is left as it is (OK, nothing to
// write). NOT_FOUND when the rental has no fee payment.
Decision DecideCancellationRefund(const RentalPayments& state, absl::string_view fee_payment_id,
                                  absl::string_view reason, absl::Time now);

// An abandoned rental: an approved fee is voided (its amount reversed); no fee
// at all gets a tombstone (amount 0) so a late Pay is declined; anything else
// is left as it is.
Decision DecideVoid(const RentalPayments& state, absl::string_view fee_payment_id,
                    absl::string_view customer_id, absl::string_view reason, absl::Time now);

// A late fee, charged once per return: OK without an event when it exists.
Decision DecideLateFee(const RentalPayments& state, absl::string_view late_fee_payment_id,
                       absl::string_view customer_id, const Money& fee, absl::string_view return_id,
                       absl::Time now);

}  // namespace rentmesh::payment
