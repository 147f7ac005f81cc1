#include "rental/adapters/outbound/grpc/grpc_delivery_gateway.h"

#include "rentmesh/common/grpc_status.h"

namespace rentmesh::rental {

GrpcDeliveryGateway::GrpcDeliveryGateway(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    CircuitBreaker::Options breaker_options, const Clock& clock,
    std::function<void(grpc::ClientContext&)> authorize)
    : endpoints_(
          channels,
          [](std::shared_ptr<grpc::Channel> c) {
            return delivery::v1::DeliveryService::NewStub(c);
          },
          breaker_options, clock, std::move(authorize),
          "delivery circuit is open after repeated failures") {}

absl::Status GrpcDeliveryGateway::CancelDelivery(const DeliveryCancelRequest& request,
                                                 absl::Time deadline) {
  delivery::v1::CancelDeliveryRequest req;
  req.set_rental_id(request.rental_id);
  req.set_reason(request.reason);
  req.set_request_id(request.request_id);
  delivery::v1::Delivery resp;
  grpc::Status st =
      endpoints_.Call(deadline, request.trace,
                      [&](delivery::v1::DeliveryService::Stub& stub, grpc::ClientContext& ctx) {
                        return stub.CancelDelivery(&ctx, req, &resp);
                      });
  return st.ok() ? absl::OkStatus() : FromGrpcStatus(st);
}

}  // namespace rentmesh::rental
