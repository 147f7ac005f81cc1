#include "adapters/inbound/grpc/delivery_grpc_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "adapters/proto/delivery_mapping.h"
#include "rentmesh/common/grpc_status.h"
#include "rentmesh/common/pool_dispatch.h"
#include "rentmesh/common/trace_context.h"

namespace rentmesh::delivery {
namespace {

constexpr char kOverloaded[] = "the delivery service is overloaded, try again shortly";

EventTrace ToEventTrace(const TraceContext& trace) {
  return {trace.traceparent, trace.tracestate, trace.request_id, trace.b3};
}

Caller ToCaller(const CallerIdentity& identity) {
  Caller c;
  c.subject = identity.subject;
  c.courier = identity.HasRole(kCourierRole);
  c.staff = identity.IsService() || identity.HasRole(CallerIdentity::kLibrarianRole);
  return c;
}

absl::Status AnyCaller(const CallerIdentity&) { return absl::OkStatus(); }

absl::Status Answer(const absl::StatusOr<Delivery>& d, v1::Delivery& response) {
  if (!d.ok()) return d.status();
  response = ToDeliveryProto(*d);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* DeliveryGrpcService::Run(
    grpc::CallbackServerContext* ctx,
    const std::function<absl::Status(const CallerIdentity&)>& guard, Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<CallerIdentity> identity = auth_.Identify(*ctx);
  absl::Status allowed = identity.status();
  if (allowed.ok() && !identity->present) {
    allowed = absl::UnauthenticatedError("the delivery service needs a verified caller");
  }
  if (allowed.ok()) allowed = guard(*identity);
  if (!allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  const absl::Time deadline = std::min(DeadlineOf(*ctx), absl::Now() + max_wait_);
  FinishOnPool(pool_, reactor, absl::InfiniteFuture(), kOverloaded,
               [work = std::move(work), caller = ToCaller(*identity),
                trace = ToEventTrace(TraceContext::FromServerContext(*ctx)),
                deadline] { return work(caller, trace, deadline); });
  return reactor;
}

grpc::ServerUnaryReactor* DeliveryGrpcService::GetDelivery(grpc::CallbackServerContext* ctx,
                                                           const v1::GetDeliveryRequest* request,
                                                           v1::Delivery* response) {
  return Run(ctx, AnyCaller,
             [this, request, response](const Caller& caller, const EventTrace&, absl::Time d) {
               return Answer(service_.Get(request->delivery_id(), caller, d), *response);
             });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::GetRentalDelivery(
    grpc::CallbackServerContext* ctx, const v1::GetRentalDeliveryRequest* request,
    v1::Delivery* response) {
  return Run(ctx, AnyCaller,
             [this, request, response](const Caller& caller, const EventTrace&, absl::Time d) {
               absl::StatusOr<DeliveryKind> kind = FromProto(request->kind());
               if (!kind.ok()) return kind.status();
               return Answer(service_.GetForRental(request->rental_id(), *kind, caller, d),
                             *response);
             });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::PickUpDelivery(
    grpc::CallbackServerContext* ctx, const v1::PickUpDeliveryRequest* request,
    v1::Delivery* response) {
  return Run(
      ctx, AnyCaller,
      [this, request, response](const Caller& caller, const EventTrace& trace, absl::Time d) {
        return Answer(
            service_.PickUp(request->delivery_id(), request->request_id(), caller, trace, d),
            *response);
      });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::CompleteDelivery(
    grpc::CallbackServerContext* ctx, const v1::CompleteDeliveryRequest* request,
    v1::Delivery* response) {
  return Run(
      ctx, AnyCaller,
      [this, request, response](const Caller& caller, const EventTrace& trace, absl::Time d) {
        return Answer(
            service_.Deliver(request->delivery_id(), request->request_id(), caller, trace, d),
            *response);
      });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::CancelDelivery(
    grpc::CallbackServerContext* ctx, const v1::CancelDeliveryRequest* request,
    v1::Delivery* response) {
  // A customer cancels through RentalService.CancelRental, which checks the
  // rental's owner and its cancellation window first.
  return Run(
      ctx,
      [](const CallerIdentity& caller) {
        return caller.AuthorizeInternal("rental", "DeliveryService.CancelDelivery",
                                        /*staff_too=*/true);
      },
      [this, request, response](const Caller&, const EventTrace& trace, absl::Time d) {
        return Answer(service_.Cancel(request->rental_id(), request->reason(),
                                      request->request_id(), trace, d),
                      *response);
      });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::RequestReturnPickup(
    grpc::CallbackServerContext* ctx, const v1::RequestReturnPickupRequest* request,
    v1::Delivery* response) {
  return Run(
      ctx, AnyCaller,
      [this, request, response](const Caller& caller, const EventTrace& trace, absl::Time d) {
        return Answer(service_.RequestReturnPickup(request->rental_id(), request->request_id(),
                                                   caller, trace, d),
                      *response);
      });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::AddCourier(grpc::CallbackServerContext* ctx,
                                                          const v1::AddCourierRequest* request,
                                                          v1::Courier* response) {
  return Run(ctx, AnyCaller,
             [this, request, response](const Caller& caller, const EventTrace& trace,
                                       absl::Time d) -> absl::Status {
               Courier c;
               c.courier_id = request->courier_id();
               c.region = request->region();
               c.name = request->name();
               c.request_id = request->request_id();
               absl::StatusOr<Courier> added = service_.AddCourier(c, caller, trace, d);
               if (!added.ok()) return added.status();
               *response = ToCourierProto(*added);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* DeliveryGrpcService::ListCouriers(grpc::CallbackServerContext* ctx,
                                                            const v1::ListCouriersRequest* request,
                                                            v1::ListCouriersResponse* response) {
  return Run(
      ctx, AnyCaller,
      [this, request, response](const Caller&, const EventTrace&, absl::Time d) -> absl::Status {
        absl::StatusOr<std::vector<Courier>> couriers = service_.ListCouriers(request->region(), d);
        if (!couriers.ok()) return couriers.status();
        for (const Courier& c : *couriers) *response->add_couriers() = ToCourierProto(c);
        return absl::OkStatus();
      });
}

}  // namespace rentmesh::delivery
