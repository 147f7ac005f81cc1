#include "rental/adapters/outbound/grpc/grpc_payment_gateway.h"

#include "rental/adapters/mapping.h"
#include "rentmesh/common/grpc_status.h"

namespace rentmesh::rental {
namespace {

bool IsTransient(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

}  // namespace

absl::StatusOr<PaymentOutcome> GrpcPaymentGateway::Pay(const PaymentRequest& request,
                                                       absl::Time deadline) {
  if (!breaker_.Allow()) {
    return absl::UnavailableError("payment circuit is open after repeated failures");
  }
  payment::v1::PayRequest req;
  req.set_rental_id(request.rental_id);
  req.set_customer_id(request.customer_id);
  *req.mutable_amount() = mapping::ToProto(request.amount);
  req.set_description(request.description);
  payment::v1::Payment resp;
  grpc::ClientContext ctx;
  if (authorize_) authorize_(ctx);
  ctx.set_deadline(absl::ToChronoTime(deadline));
  for (const auto& [k, v] : request.trace) ctx.AddMetadata(k, v);
  grpc::Status st = stub_->Pay(&ctx, req, &resp);
  if (IsTransient(st.error_code())) {
    breaker_.RecordFailure();
    return FromGrpcStatus(st);
  }
  breaker_.RecordSuccess();
  if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return PaymentOutcome{false, "", st.error_message()};
  }
  if (!st.ok()) return FromGrpcStatus(st);
  if (resp.status() != payment::v1::PAYMENT_STATUS_APPROVED) {
    return PaymentOutcome{
        false, resp.payment_id(),
        resp.decline_reason().empty() ? "payment not approved" : resp.decline_reason()};
  }
  return PaymentOutcome{true, resp.payment_id(), ""};
}

}  // namespace rentmesh::rental
