#include "payment/core/domain/payment_rules.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::payment {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == ':';
}

absl::Status ValidateText(absl::string_view field, absl::string_view value) {
  if (value.size() > kMaxTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxTextLength, " characters"));
  }
  return absl::OkStatus();
}

std::string AbandonedMessage(const Payment& voided) {
  if (voided.refunded.amount_minor > 0) {
    return absl::StrCat("the rental was abandoned; the charge of ", FormatMoney(voided.refunded),
                        " was reversed");
  }
  return "the rental was abandoned; nothing was charged";
}

PaymentEvent NewEvent(PaymentEventType type, const Payment& p, absl::Time now) {
  PaymentEvent e;
  e.type = type;
  e.payment_id = p.payment_id;
  e.rental_id = p.rental_id;
  e.customer_id = p.customer_id;
  e.amount = p.amount;
  e.return_id = p.return_id;
  e.occurred_at = now;
  return e;
}

}  // namespace

absl::Status ValidateKey(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : value) {
    if (!IsKeyChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " may hold only letters, digits, '-', '_' and ':'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomerId(absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("customer_id is required");
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer_id is longer than ", kMaxIdLength, " characters"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("customer_id holds control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePay(const PayCommand& cmd) {
  if (absl::Status s = ValidateKey("rental_id", cmd.rental_id); !s.ok()) return s;
  if (absl::Status s = ValidateCustomerId(cmd.customer_id); !s.ok()) return s;
  const std::string& cur = cmd.amount.currency;
  if (cur.empty()) return absl::InvalidArgumentError("amount.currency is required");
  if (cur.size() != 3 || !(cur[0] >= 'A' && cur[0] <= 'Z') || !(cur[1] >= 'A' && cur[1] <= 'Z') ||
      !(cur[2] >= 'A' && cur[2] <= 'Z')) {
    return absl::InvalidArgumentError(
        "amount.currency must be an ISO 4217 code of three upper-case letters");
  }
  if (cmd.amount.amount_minor <= 0) {
    return absl::InvalidArgumentError("amount.amount_minor must be greater than 0");
  }
  if (cmd.amount.amount_minor > kAbsurdAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount.amount_minor is absurd (over ", kAbsurdAmountMinor, ")"));
  }
  return ValidateText("description", cmd.description);
}

absl::Status ValidateRefund(const RefundCommand& cmd) {
  if (absl::Status s = ValidateKey("payment_id", cmd.payment_id); !s.ok()) return s;
  return ValidateText("reason", cmd.reason);
}

Decision DecidePay(const RentalPayments& state, const PayCommand& cmd, absl::string_view payment_id,
                   const PaymentPolicy& policy, absl::Time now) {
  const Payment* existing = state.Find(payment_id);
  if (existing == nullptr) {
    PaymentEvent e;
    e.payment_id = std::string(payment_id);
    e.rental_id = cmd.rental_id;
    e.customer_id = cmd.customer_id;
    e.amount = cmd.amount;
    e.occurred_at = now;
    if (cmd.amount.amount_minor > policy.max_amount_minor) {
      e.type = PaymentEventType::kDeclined;
      e.reason = "amount exceeds the per-payment limit";
    } else {
      e.type = PaymentEventType::kApproved;
    }
    return Decision::Append(std::move(e));
  }
  if (existing->status == PaymentStatus::kVoided) {
    return Decision::Answer(absl::FailedPreconditionError(AbandonedMessage(*existing)));
  }
  if (existing->customer_id != cmd.customer_id || existing->amount != cmd.amount) {
    return Decision::Answer(absl::AlreadyExistsError(absl::StrCat(
        "rental ", cmd.rental_id, " already has a payment with another amount or customer (",
        FormatMoney(existing->amount), "); a different charge needs a new rental")));
  }
  if (existing->status == PaymentStatus::kDeclined) {
    return Decision::Answer(absl::FailedPreconditionError(
        absl::StrCat("payment declined: ", existing->decline_reason)));
  }
  // APPROVED, or REFUNDED since: the first outcome was a charge.
  return Decision::Answer(absl::OkStatus());
}

Decision DecideRefund(const RentalPayments& state, absl::string_view payment_id,
                      absl::string_view reason, absl::Time now) {
  const Payment* p = state.Find(payment_id);
  if (p == nullptr) {
    return Decision::Answer(
        absl::NotFoundError(absl::StrCat("payment ", payment_id, " not found")));
  }
  switch (p->status) {
    case PaymentStatus::kApproved: {
      PaymentEvent e = NewEvent(PaymentEventType::kRefunded, *p, now);
      e.reason = reason.empty() ? std::string("refund requested") : std::string(reason);
      return Decision::Append(std::move(e));
    }
    case PaymentStatus::kRefunded:
      return Decision::Answer(absl::OkStatus());
    case PaymentStatus::kDeclined:
      return Decision::Answer(absl::FailedPreconditionError(
          absl::StrCat("payment ", payment_id, " was declined; there is nothing to refund")));
    case PaymentStatus::kVoided:
      return Decision::Answer(absl::FailedPreconditionError(
          absl::StrCat("payment ", payment_id, " was voided (", AbandonedMessage(*p),
                       "); there is nothing to refund")));
  }
  return Decision::Answer(absl::InternalError("unknown payment status"));
}

Decision DecideCancellationRefund(const RentalPayments& state, absl::string_view fee_payment_id,
                                  absl::string_view reason, absl::Time now) {
  const Payment* p = state.Find(fee_payment_id);
  if (p == nullptr) {
    return Decision::Answer(absl::NotFoundError(
        absl::StrCat("rental ", state.rental_id(), " has no rental-fee payment to refund")));
  }
  if (p->status != PaymentStatus::kApproved) return Decision::Answer(absl::OkStatus());
  PaymentEvent e = NewEvent(PaymentEventType::kRefunded, *p, now);
  e.reason = absl::StrCat("rental cancelled", reason.empty() ? "" : ": ", reason);
  return Decision::Append(std::move(e));
}

Decision DecideVoid(const RentalPayments& state, absl::string_view fee_payment_id,
                    absl::string_view customer_id, absl::string_view reason, absl::Time now) {
  const std::string why = absl::StrCat("rental abandoned", reason.empty() ? "" : ": ", reason);
  const Payment* p = state.Find(fee_payment_id);
  if (p == nullptr) {
    PaymentEvent e;
    e.type = PaymentEventType::kVoided;
    e.payment_id = std::string(fee_payment_id);
    e.rental_id = state.rental_id();
    e.customer_id = std::string(customer_id);
    e.amount = Money{};
    e.reason = why;
    e.occurred_at = now;
    return Decision::Append(std::move(e));
  }
  if (p->status != PaymentStatus::kApproved) return Decision::Answer(absl::OkStatus());
  PaymentEvent e = NewEvent(PaymentEventType::kVoided, *p, now);
  e.reason = why;
  return Decision::Append(std::move(e));
}

Decision DecideLateFee(const RentalPayments& state, absl::string_view late_fee_payment_id,
                       absl::string_view customer_id, const Money& fee, absl::string_view return_id,
                       absl::Time now) {
  if (state.Find(late_fee_payment_id) != nullptr) return Decision::Answer(absl::OkStatus());
  PaymentEvent e;
  e.type = PaymentEventType::kLateFeeCharged;
  e.payment_id = std::string(late_fee_payment_id);
  e.rental_id = state.rental_id();
  e.customer_id = std::string(customer_id);
  e.amount = fee;
  e.return_id = std::string(return_id);
  e.occurred_at = now;
  return Decision::Append(std::move(e));
}

}  // namespace rentmesh::payment
