#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rental/core/ports/payment_gateway.h"
#include "rentmesh/common/circuit_breaker.h"
#include "rentmesh/common/endpoint_failover.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"

namespace rentmesh::rental {

// PaymentService over gRPC, spread over every payment replica it is given,
// with a deadline on every call and a circuit breaker per endpoint
// (EndpointFailover): a call refused by one replica moves to the next within
// the same deadline; Pay is idempotent by rental id, so a second endpoint
// never charges twice. While every endpoint is open, Pay fails at once with
// UNAVAILABLE.
class GrpcPaymentGateway final : public PaymentGateway {
 public:
  // `authorize` adds this service's credentials to each call (may be empty).
  GrpcPaymentGateway(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     CircuitBreaker::Options breaker_options, const Clock& clock,
                     std::function<void(grpc::ClientContext&)> authorize = {});

  // PaymentGateway
  absl::StatusOr<PaymentOutcome> Pay(const PaymentRequest& request, absl::Time deadline) override;
  bool Accepting() override { return endpoints_.Accepting(); }

  // True while no endpoint's circuit is closed (each open, or half-open with
  // a probe to come or in flight): for the rentmesh_circuit_open gauge.
  bool CircuitOpen() { return endpoints_.CircuitOpen(); }

 private:
  EndpointFailover<payment::v1::PaymentService::Stub> endpoints_;
};

// Channels for a comma-separated list of payment addresses (FailoverChannels).
std::vector<std::shared_ptr<grpc::Channel>> PaymentChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials);

}  // namespace rentmesh::rental
