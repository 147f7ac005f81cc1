#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rental/core/ports/payment_gateway.h"
#include "rentmesh/common/circuit_breaker.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"

namespace rentmesh::rental {

// PaymentService over gRPC, spread over every payment replica it is given,
// with a deadline on every call and a circuit breaker per endpoint.
//
// Each endpoint (one address: a replica, or a DNS name that gRPC balances
// round-robin over its addresses) has its own breaker: transient failures
// (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) open it. A call starts
// at the next endpoint in turn, skips open ones, and when an endpoint answers
// UNAVAILABLE or RESOURCE_EXHAUSTED (the call did not run there, or was
// refused) tries the next one within the same deadline: Pay is idempotent
// by rental id, so a second endpoint never charges twice. While every
// endpoint is open, Pay fails at once with UNAVAILABLE.
class GrpcPaymentGateway final : public PaymentGateway {
 public:
  // `authorize` adds this service's credentials to each call (may be empty).
  GrpcPaymentGateway(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     CircuitBreaker::Options breaker_options, const Clock& clock,
                     std::function<void(grpc::ClientContext&)> authorize = {});

  // PaymentGateway
  absl::StatusOr<PaymentOutcome> Pay(const PaymentRequest& request, absl::Time deadline) override;
  bool Accepting() override;

  // True while no endpoint's circuit is closed (each open, or half-open with
  // a probe to come or in flight): for the rentmesh_circuit_open gauge.
  bool CircuitOpen();

 private:
  struct Endpoint {
    std::unique_ptr<payment::v1::PaymentService::Stub> stub;
    std::unique_ptr<CircuitBreaker> breaker;
  };
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> next_{0};
  const std::function<void(grpc::ClientContext&)> authorize_;
};

// Channels for a comma-separated list of payment addresses (each host:port,
// or a gRPC target such as dns:///payment-headless:50052), balanced
// round-robin over the addresses a name resolves to.
std::vector<std::shared_ptr<grpc::Channel>> PaymentChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials);

}  // namespace rentmesh::rental
