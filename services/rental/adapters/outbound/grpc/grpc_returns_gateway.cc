#include "rental/adapters/outbound/grpc/grpc_returns_gateway.h"

#include "rental/adapters/mapping.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental {

absl::StatusOr<ReturnOutcome> GrpcReturnsGateway::ProcessReturn(const ReturnRequest& request,
                                                                absl::Time deadline) {
  returns::v1::ProcessReturnRequest req;
  req.set_rental_id(request.rental_id);
  req.set_book_id(request.book_id);
  req.set_customer_id(request.customer_id);
  *req.mutable_due_at() = events::ToProtoTime(request.due_at);
  req.set_condition(request.damaged ? returns::v1::CONDITION_DAMAGED : returns::v1::CONDITION_GOOD);
  req.set_late_fee_discount_percent(request.late_fee_discount_percent);
  returns::v1::Return resp;
  grpc::ClientContext ctx;
  if (authorize_) authorize_(ctx);
  ctx.set_deadline(absl::ToChronoTime(deadline));
  for (const auto& [k, v] : request.trace) ctx.AddMetadata(k, v);
  grpc::Status st = stub_->ProcessReturn(&ctx, req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return ReturnOutcome{resp.return_id(), events::FromProtoTime(resp.returned_at()),
                       mapping::FromProto(resp.total_fee())};
}

}  // namespace rentmesh::rental
