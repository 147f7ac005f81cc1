#include "adapters/inbound/grpc/return_grpc_service.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "adapters/proto/return_mapping.h"
#include "rentmesh/common/caller_identity.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/common/pool_dispatch.h"
#include "rentmesh/common/trace_context.h"

namespace rentmesh::returns {
namespace {

constexpr char kOverloaded[] = "the returns service is overloaded, try again shortly";

EventTrace ToEventTrace(const TraceContext& trace) {
  return {trace.traceparent, trace.tracestate, trace.request_id, trace.b3};
}

// Fills `response` with `found` if the caller may see it.
absl::Status Answer(const absl::StatusOr<RecordedReturn>& found, const CallerIdentity& caller,
                    v1::Return& response) {
  if (!found.ok()) return found.status();
  if (absl::Status allowed = caller.AuthorizeCustomer(found->inspection.customer_id);
      !allowed.ok()) {
    return allowed;
  }
  response = ToReturnProto(*found);
  return absl::OkStatus();
}

}  // namespace

absl::Time ReturnGrpcService::DeadlineOf(const grpc::CallbackServerContext& ctx) const {
  return std::min(absl::FromChrono(ctx.deadline()), absl::Now() + max_wait_);
}

absl::StatusOr<CallerIdentity> ReturnGrpcService::Reader(
    const grpc::CallbackServerContext& ctx) const {
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(ctx);
  if (caller.ok() && !caller->present) return caller->AuthorizeCustomer("");
  return caller;
}

grpc::ServerUnaryReactor* ReturnGrpcService::ProcessReturn(grpc::CallbackServerContext* ctx,
                                                           const v1::ProcessReturnRequest* request,
                                                           v1::Return* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<ReturnCommand> command = ToReturnCommand(*request);
  absl::Status valid = command.ok() ? ValidateReturnCommand(*command) : command.status();
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  // A customer recording their own return could choose its due date and
  // condition; the first return recorded wins, so only rental may.
  absl::StatusOr<CallerIdentity> caller = auth_.Identify(*ctx);
  absl::Status allowed = caller.ok()
                             ? caller->AuthorizeInternal("rental", "ReturnService.ProcessReturn")
                             : caller.status();
  if (!allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  FinishOnPool(pool_, reactor, absl::InfiniteFuture(), kOverloaded,
               [this, command = *std::move(command),
                trace = ToEventTrace(TraceContext::FromServerContext(*ctx)),
                deadline = DeadlineOf(*ctx), response]() -> absl::Status {
                 absl::StatusOr<RecordedReturn> recorded =
                     service_.ProcessReturn(command, trace, deadline);
                 if (!recorded.ok()) return recorded.status();
                 *response = ToReturnProto(*recorded);
                 return absl::OkStatus();
               });
  return reactor;
}

grpc::ServerUnaryReactor* ReturnGrpcService::GetReturn(grpc::CallbackServerContext* ctx,
                                                       const v1::GetReturnRequest* request,
                                                       v1::Return* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status valid = ValidateLookupId("return_id", request->return_id()); !valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  absl::StatusOr<CallerIdentity> caller = Reader(*ctx);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  FinishOnPool(pool_, reactor, absl::InfiniteFuture(), kOverloaded,
               [this, return_id = request->return_id(), caller = *std::move(caller),
                deadline = DeadlineOf(*ctx), response] {
                 return Answer(service_.GetReturn(return_id, deadline), caller, *response);
               });
  return reactor;
}

grpc::ServerUnaryReactor* ReturnGrpcService::GetRentalReturn(
    grpc::CallbackServerContext* ctx, const v1::GetRentalReturnRequest* request,
    v1::Return* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (absl::Status valid = ValidateLookupId("rental_id", request->rental_id()); !valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  absl::StatusOr<CallerIdentity> caller = Reader(*ctx);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  FinishOnPool(pool_, reactor, absl::InfiniteFuture(), kOverloaded,
               [this, rental_id = request->rental_id(), caller = *std::move(caller),
                deadline = DeadlineOf(*ctx), response] {
                 return Answer(service_.GetRentalReturn(rental_id, deadline), caller, *response);
               });
  return reactor;
}

}  // namespace rentmesh::returns
