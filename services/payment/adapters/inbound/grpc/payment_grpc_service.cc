#include "payment/adapters/inbound/grpc/payment_grpc_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/consistency_token.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/pool_dispatch.h"
#include "rentmesh/common/trace_context.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::payment {
namespace {

common::v1::Money ToProto(const Money& m) {
  common::v1::Money out;
  out.set_currency(m.currency);
  out.set_amount_minor(m.amount_minor);
  return out;
}

v1::PaymentStatus ToProto(PaymentStatus s) {
  switch (s) {
    case PaymentStatus::kApproved:
      return v1::PAYMENT_STATUS_APPROVED;
    case PaymentStatus::kDeclined:
      return v1::PAYMENT_STATUS_DECLINED;
    case PaymentStatus::kRefunded:
      return v1::PAYMENT_STATUS_REFUNDED;
    case PaymentStatus::kVoided:
      return v1::PAYMENT_STATUS_VOIDED;
  }
  return v1::PAYMENT_STATUS_UNSPECIFIED;
}

void ToProto(const PaymentView& view, v1::Payment& out) {
  const Payment& p = view.payment;
  out.set_payment_id(p.payment_id);
  out.set_rental_id(p.rental_id);
  out.set_customer_id(p.customer_id);
  out.set_kind(p.kind == PaymentKind::kLateFee ? v1::PAYMENT_KIND_LATE_FEE
                                               : v1::PAYMENT_KIND_RENTAL_FEE);
  out.set_status(ToProto(p.status));
  *out.mutable_amount() = ToProto(p.amount);
  out.set_decline_reason(p.decline_reason);
  if (p.refunded_at.has_value()) {
    *out.mutable_refunded() = ToProto(p.refunded);
    out.set_refund_reason(p.refund_reason);
    *out.mutable_refunded_at() = events::ToProtoTime(*p.refunded_at);
  }
  *out.mutable_created_at() = events::ToProtoTime(p.created_at);
  out.set_version(view.version);
  out.set_consistency_token(FormatConsistencyToken("PAYMENT", p.last_sequence));
}

// A caller with an identity that is not a librarian may see and change only
// the payments of the customer it is.
absl::Status AuthorizeFor(const CallerIdentity& caller, const Payment& p) {
  return caller.AuthorizeCustomer(p.customer_id);
}

}  // namespace

grpc::ServerUnaryReactor* PaymentGrpcService::FinishNow(grpc::CallbackServerContext* ctx,
                                                        const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* PaymentGrpcService::Submit(
    grpc::CallbackServerContext* ctx, std::function<absl::Status(const RequestContext&)> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  TraceContext trace = TraceContext::FromServerContext(*ctx);
  RequestContext rc;
  rc.deadline = DeadlineOf(*ctx);
  rc.metadata.causation_id = trace.request_id.empty() ? std::string("grpc:PaymentService")
                                                      : absl::StrCat("request:", trace.request_id);
  rc.metadata.trace_headers = trace.Headers();
  const absl::Time deadline = rc.deadline;
  FinishOnPool(
      pool_, reactor, deadline, "payment is overloaded; retry shortly",
      [rc = std::move(rc), work = std::move(work)] {
        absl::Status status = work(rc);
        if (absl::IsInternal(status) || absl::IsDataLoss(status) || absl::IsUnknown(status)) {
          LogError("payment call failed", {{"error", status.ToString()}});
        }
        return status;
      });
  return reactor;
}

grpc::ServerUnaryReactor* PaymentGrpcService::Pay(grpc::CallbackServerContext* ctx,
                                                  const v1::PayRequest* request,
                                                  v1::Payment* response) {
  PayCommand cmd;
  cmd.rental_id = request->rental_id();
  cmd.customer_id = request->customer_id();
  cmd.amount = Money{request->amount().currency(), request->amount().amount_minor()};
  cmd.description = request->description();
  if (absl::Status s = ValidatePay(cmd); !s.ok()) return FinishNow(ctx, s);
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(*ctx);
  if (!caller.ok()) return FinishNow(ctx, caller.status());
  if (absl::Status s = caller->AuthorizeInternal("rental", "PaymentService.Pay"); !s.ok()) {
    return FinishNow(ctx, s);
  }
  return Submit(ctx, [this, cmd = std::move(cmd), response](const RequestContext& rc) {
    absl::StatusOr<PaymentView> view = payments_.Pay(cmd, rc);
    if (!view.ok()) return view.status();
    ToProto(*view, *response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PaymentGrpcService::Refund(grpc::CallbackServerContext* ctx,
                                                     const v1::RefundRequest* request,
                                                     v1::Payment* response) {
  RefundCommand cmd{request->payment_id(), request->reason()};
  if (absl::Status s = ValidateRefund(cmd); !s.ok()) return FinishNow(ctx, s);
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(*ctx);
  if (!caller.ok()) return FinishNow(ctx, caller.status());
  // A customer refunding their own fee would keep the book: refunds follow a
  // cancellation (payment's own reaction) or a librarian's decision.
  if (absl::Status s = caller->AuthorizeInternal("payment", "PaymentService.Refund",
                                                 /*staff_too=*/true);
      !s.ok()) {
    return FinishNow(ctx, s);
  }
  return Submit(ctx, [this, cmd = std::move(cmd), response](const RequestContext& rc) {
    absl::StatusOr<PaymentView> view = payments_.Refund(cmd, rc);
    if (!view.ok()) return view.status();
    ToProto(*view, *response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PaymentGrpcService::GetPayment(grpc::CallbackServerContext* ctx,
                                                         const v1::GetPaymentRequest* request,
                                                         v1::Payment* response) {
  std::string payment_id = request->payment_id();
  if (absl::Status s = ValidateKey("payment_id", payment_id); !s.ok()) return FinishNow(ctx, s);
  absl::StatusOr<CallerIdentity> identified = auth_.Identify(*ctx);
  if (!identified.ok()) return FinishNow(ctx, identified.status());
  if (!identified->present) return FinishNow(ctx, identified->AuthorizeCustomer(""));
  CallerIdentity caller = *std::move(identified);
  return Submit(ctx, [this, payment_id = std::move(payment_id), caller = std::move(caller),
                      response](const RequestContext& rc) {
    absl::StatusOr<PaymentView> view = payments_.GetPayment(payment_id, rc.deadline);
    if (!view.ok()) return view.status();
    if (absl::Status s = AuthorizeFor(caller, view->payment); !s.ok()) return s;
    ToProto(*view, *response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PaymentGrpcService::ListRentalPayments(
    grpc::CallbackServerContext* ctx, const v1::ListRentalPaymentsRequest* request,
    v1::ListRentalPaymentsResponse* response) {
  std::string rental_id = request->rental_id();
  if (absl::Status s = ValidateKey("rental_id", rental_id); !s.ok()) return FinishNow(ctx, s);
  absl::StatusOr<CallerIdentity> identified = auth_.Identify(*ctx);
  if (!identified.ok()) return FinishNow(ctx, identified.status());
  if (!identified->present) return FinishNow(ctx, identified->AuthorizeCustomer(""));
  CallerIdentity caller = *std::move(identified);
  return Submit(ctx, [this, rental_id = std::move(rental_id), caller = std::move(caller),
                      response](const RequestContext& rc) {
    absl::StatusOr<std::vector<PaymentView>> views =
        payments_.ListRentalPayments(rental_id, rc.deadline);
    if (!views.ok()) return views.status();
    for (const PaymentView& v : *views) {
      if (absl::Status s = AuthorizeFor(caller, v.payment); !s.ok()) return s;
    }
    for (const PaymentView& v : *views) ToProto(v, *response->add_payments());
    return absl::OkStatus();
  });
}

}  // namespace rentmesh::payment
