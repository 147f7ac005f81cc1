#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <vector>

#include "rental/core/ports/delivery_gateway.h"
#include "rentmesh/common/circuit_breaker.h"
#include "rentmesh/common/endpoint_failover.h"
#include "rentmesh/delivery/v1/delivery.grpc.pb.h"

namespace rentmesh::rental {

// DeliveryService over gRPC with the payment client's fast fallback
// (EndpointFailover: a deadline on every call, a breaker per endpoint, the
// next endpoint on UNAVAILABLE). CancelDelivery is idempotent, so trying
// another replica never cancels twice.
class GrpcDeliveryGateway final : public DeliveryGateway {
 public:
  // `authorize` adds this service's credentials to each call (may be empty).
  GrpcDeliveryGateway(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                      CircuitBreaker::Options breaker_options, const Clock& clock,
                      std::function<void(grpc::ClientContext&)> authorize = {});

  // DeliveryGateway
  absl::Status CancelDelivery(const DeliveryCancelRequest& request, absl::Time deadline) override;

  bool CircuitOpen() { return endpoints_.CircuitOpen(); }

 private:
  EndpointFailover<delivery::v1::DeliveryService::Stub> endpoints_;
};

}  // namespace rentmesh::rental
