#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "payment/core/domain/payment.h"
#include "payment/core/domain/payment_rules.h"
#include "payment/core/domain/rental_payments.h"
#include "payment/core/ports/payment_event_log.h"
#include "payment/core/ports/payment_ids.h"
#include "payment/core/ports/payment_repository.h"
#include "rentmesh/common/clock.h"

namespace rentmesh::payment {

// A payment as of the state that answered, with the rental's payment version.
struct PaymentView {
  Payment payment;
  uint64_t version = 0;
};

// Per call: how long the caller waits, and what to stamp on the events written.
struct RequestContext {
  absl::Time deadline = absl::InfiniteFuture();
  EventMetadata metadata;
};

// The payment context's use cases. Every command loads the rental's payments
// from the local state, decides (core/domain), appends with optimistic
// concurrency on the rental's events, and answers from the state once the
// event is applied; a conflict catches up and decides again. Thread-safe: it
// holds no mutable state of its own.
class PaymentService final {
 public:
  PaymentService(PaymentEventLog& log, const PaymentRepository& repository, const PaymentIds& ids,
                 const Clock& clock, PaymentPolicy policy)
      : log_(log), repository_(repository), ids_(ids), clock_(clock), policy_(policy) {}

  // --- commands (gRPC) ---

  // Charges the rental fee, keyed by rental id (see DecidePay). DEADLINE_EXCEEDED
  // without writing when the deadline passed before the decision.
  absl::StatusOr<PaymentView> Pay(const PayCommand& cmd, const RequestContext& ctx);
  // Refunds an approved payment in full (see DecideRefund).
  absl::StatusOr<PaymentView> Refund(const RefundCommand& cmd, const RequestContext& ctx);

  // --- queries (gRPC); both catch up first ---

  absl::StatusOr<PaymentView> GetPayment(absl::string_view payment_id, absl::Time deadline);
  // Oldest first; empty when the rental has none.
  absl::StatusOr<std::vector<PaymentView>> ListRentalPayments(absl::string_view rental_id,
                                                              absl::Time deadline);

  // --- reactions to other contexts' events; idempotent under redelivery ---

  // RentalCancelled: refunds the rental fee in full, once. NOT_FOUND when the
  // rental has no fee payment even after catching up.
  absl::Status RefundCancelledRental(absl::string_view rental_id, absl::string_view reason,
                                     const RequestContext& ctx);
  // RentalAborted: voids the rental fee (reversing an approved charge), or
  // leaves a tombstone when there is none so that a late Pay is declined.
  absl::Status VoidAbandonedRental(absl::string_view rental_id, absl::string_view customer_id,
                                   absl::string_view reason, const RequestContext& ctx);
  // ReturnCompleted with a fee: charges it as a late-fee payment, once per
  // return. A fee of 0 or less charges nothing.
  absl::Status ChargeLateFee(absl::string_view rental_id, absl::string_view return_id,
                             absl::string_view customer_id, const Money& fee,
                             const RequestContext& ctx);

  const PaymentPolicy& policy() const { return policy_; }
  const PaymentIds& ids() const { return ids_; }

 private:
  using Decide = std::function<Decision(const RentalPayments& state, absl::Time now)>;

  // Load -> decide -> append -> wait applied, until a decision answers
  // without writing (bounded attempts). Returns the state that answered, or
  // the decision's error.
  absl::StatusOr<RentalPayments> Execute(absl::string_view rental_id, const Decide& decide,
                                         const RequestContext& ctx);
  absl::Status CatchUp(absl::Time deadline);
  absl::StatusOr<PaymentView> ViewOf(const RentalPayments& state,
                                     absl::string_view payment_id) const;

  PaymentEventLog& log_;
  const PaymentRepository& repository_;
  const PaymentIds& ids_;
  const Clock& clock_;
  const PaymentPolicy policy_;
};

}  // namespace rentmesh::payment
