#include "payment/core/payment_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace rentmesh::payment {
namespace {

// Appends that lose a race catch up and decide again; a rental's payments are
// changed by a handful of events in their whole life, so a few rounds suffice.
constexpr int kMaxAttempts = 8;
// Waits on the local state never outlast this, whatever the caller's deadline.
constexpr absl::Duration kMaxWait = absl::Seconds(10);

absl::Time WaitDeadline(absl::Time deadline) { return std::min(deadline, absl::Now() + kMaxWait); }

// A wait that ran out: the caller's deadline, or ours (then the caller may retry).
absl::Status WaitFailed(const absl::Status& s, absl::Time deadline) {
  if (!absl::IsDeadlineExceeded(s)) return s;
  if (absl::Now() >= deadline) return absl::DeadlineExceededError("deadline exceeded");
  return absl::UnavailableError(
      absl::StrCat("payment is catching up with its events; retry shortly (", s.message(), ")"));
}

}  // namespace

absl::Status PaymentService::CatchUp(absl::Time deadline) {
  absl::Status s = log_.CatchUp(WaitDeadline(deadline));
  return s.ok() ? s : WaitFailed(s, deadline);
}

absl::StatusOr<RentalPayments> PaymentService::Execute(absl::string_view rental_id,
                                                       const Decide& decide,
                                                       const RequestContext& ctx) {
  bool caught_up = false;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<RentalPayments> state = repository_.Load(rental_id);
    if (!state.ok()) return state.status();
    Decision d = decide(*state, clock_.Now());
    if (!d.event.has_value()) {
      // Never answer NOT_FOUND from this replica's lag.
      if (absl::IsNotFound(d.answer) && !caught_up) {
        if (absl::Status s = CatchUp(ctx.deadline); !s.ok()) return s;
        caught_up = true;
        continue;
      }
      if (!d.answer.ok()) return d.answer;
      return state;
    }
    if (absl::Now() >= ctx.deadline) {
      return absl::DeadlineExceededError("deadline exceeded before the payment was recorded");
    }
    absl::StatusOr<uint64_t> seq =
        log_.Append(*d.event, state->version() + 1, state->last_sequence(), ctx.metadata);
    if (absl::IsAborted(seq.status())) {
      // Another replica wrote first: learn what it wrote, then decide again.
      if (absl::Status s = CatchUp(ctx.deadline); !s.ok()) return s;
      caught_up = true;
      continue;
    }
    if (!seq.ok()) return seq.status();
    if (absl::Status s = log_.WaitApplied(*seq, WaitDeadline(ctx.deadline)); !s.ok()) {
      return WaitFailed(s, ctx.deadline);
    }
    // The next round answers from the state that now holds the event.
  }
  return absl::UnavailableError(absl::StrCat("the payments of rental ", rental_id,
                                             " changed concurrently too often; retry shortly"));
}

absl::StatusOr<PaymentView> PaymentService::ViewOf(const RentalPayments& state,
                                                   absl::string_view payment_id) const {
  const Payment* p = state.Find(payment_id);
  if (p == nullptr) {
    return absl::NotFoundError(absl::StrCat("payment ", payment_id, " not found"));
  }
  return PaymentView{*p, state.version()};
}

absl::StatusOr<PaymentView> PaymentService::Pay(const PayCommand& cmd, const RequestContext& ctx) {
  if (absl::Status s = ValidatePay(cmd); !s.ok()) return s;
  const std::string payment_id = ids_.RentalFee(cmd.rental_id);
  absl::StatusOr<RentalPayments> state = Execute(
      cmd.rental_id,
      [&](const RentalPayments& st, absl::Time now) {
        return DecidePay(st, cmd, payment_id, policy_, now);
      },
      ctx);
  if (!state.ok()) return state.status();
  return ViewOf(*state, payment_id);
}

absl::StatusOr<PaymentView> PaymentService::Refund(const RefundCommand& cmd,
                                                   const RequestContext& ctx) {
  if (absl::Status s = ValidateRefund(cmd); !s.ok()) return s;
  absl::StatusOr<std::optional<std::string>> rental = repository_.FindRentalOf(cmd.payment_id);
  if (!rental.ok()) return rental.status();
  if (!rental->has_value()) {
    if (absl::Status s = CatchUp(ctx.deadline); !s.ok()) return s;
    rental = repository_.FindRentalOf(cmd.payment_id);
    if (!rental.ok()) return rental.status();
    if (!rental->has_value()) {
      return absl::NotFoundError(absl::StrCat("payment ", cmd.payment_id, " not found"));
    }
  }
  absl::StatusOr<RentalPayments> state = Execute(
      **rental,
      [&](const RentalPayments& st, absl::Time now) {
        return DecideRefund(st, cmd.payment_id, cmd.reason, now);
      },
      ctx);
  if (!state.ok()) return state.status();
  return ViewOf(*state, cmd.payment_id);
}

absl::StatusOr<PaymentView> PaymentService::GetPayment(absl::string_view payment_id,
                                                       absl::Time deadline) {
  if (absl::Status s = ValidateKey("payment_id", payment_id); !s.ok()) return s;
  if (absl::Status s = CatchUp(deadline); !s.ok()) return s;
  absl::StatusOr<std::optional<std::string>> rental = repository_.FindRentalOf(payment_id);
  if (!rental.ok()) return rental.status();
  if (!rental->has_value()) {
    return absl::NotFoundError(absl::StrCat("payment ", payment_id, " not found"));
  }
  absl::StatusOr<RentalPayments> state = repository_.Load(**rental);
  if (!state.ok()) return state.status();
  return ViewOf(*state, payment_id);
}

absl::StatusOr<std::vector<PaymentView>> PaymentService::ListRentalPayments(
    absl::string_view rental_id, absl::Time deadline) {
  if (absl::Status s = ValidateKey("rental_id", rental_id); !s.ok()) return s;
  if (absl::Status s = CatchUp(deadline); !s.ok()) return s;
  absl::StatusOr<RentalPayments> state = repository_.Load(rental_id);
  if (!state.ok()) return state.status();
  std::vector<PaymentView> out;
  out.reserve(state->payments().size());
  for (const Payment& p : state->payments()) out.push_back(PaymentView{p, state->version()});
  return out;
}

absl::Status PaymentService::RefundCancelledRental(absl::string_view rental_id,
                                                   absl::string_view reason,
                                                   const RequestContext& ctx) {
  if (absl::Status s = ValidateKey("rental_id", rental_id); !s.ok()) return s;
  const std::string fee_id = ids_.RentalFee(rental_id);
  return Execute(
             rental_id,
             [&](const RentalPayments& st, absl::Time now) {
               return DecideCancellationRefund(st, fee_id, reason, now);
             },
             ctx)
      .status();
}

absl::Status PaymentService::VoidAbandonedRental(absl::string_view rental_id,
                                                 absl::string_view customer_id,
                                                 absl::string_view reason,
                                                 const RequestContext& ctx) {
  if (absl::Status s = ValidateKey("rental_id", rental_id); !s.ok()) return s;
  const std::string fee_id = ids_.RentalFee(rental_id);
  return Execute(
             rental_id,
             [&](const RentalPayments& st, absl::Time now) {
               return DecideVoid(st, fee_id, customer_id, reason, now);
             },
             ctx)
      .status();
}

absl::Status PaymentService::ChargeLateFee(absl::string_view rental_id, absl::string_view return_id,
                                           absl::string_view customer_id, const Money& fee,
                                           const RequestContext& ctx) {
  if (fee.amount_minor <= 0) return absl::OkStatus();
  if (absl::Status s = ValidateKey("rental_id", rental_id); !s.ok()) return s;
  if (absl::Status s = ValidateKey("return_id", return_id); !s.ok()) return s;
  if (fee.amount_minor > kAbsurdAmountMinor) {
    return absl::InvalidArgumentError(absl::StrCat("late fee ", fee.amount_minor, " is absurd"));
  }
  const std::string late_fee_id = ids_.LateFee(rental_id, return_id);
  return Execute(
             rental_id,
             [&](const RentalPayments& st, absl::Time now) {
               return DecideLateFee(st, late_fee_id, customer_id, fee, return_id, now);
             },
             ctx)
      .status();
}

}  // namespace rentmesh::payment
