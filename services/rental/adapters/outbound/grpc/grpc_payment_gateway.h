#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>

#include "rental/core/ports/payment_gateway.h"
#include "rentmesh/common/circuit_breaker.h"
#include "rentmesh/payment/v1/payment.grpc.pb.h"

namespace rentmesh::rental {

// PaymentService over gRPC with a deadline on every call and a circuit
// breaker: transient failures (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED) open it, and while open, Pay fails at once with
// UNAVAILABLE instead of waiting on a dead dependency.
class GrpcPaymentGateway final : public PaymentGateway {
 public:
  // `authorize` adds this service's credentials to each call (may be empty).
  GrpcPaymentGateway(std::shared_ptr<grpc::Channel> channel, CircuitBreaker& breaker,
                     std::function<void(grpc::ClientContext&)> authorize = {})
      : stub_(payment::v1::PaymentService::NewStub(std::move(channel))),
        breaker_(breaker),
        authorize_(std::move(authorize)) {}

  // PaymentGateway
  absl::StatusOr<PaymentOutcome> Pay(const PaymentRequest& request, absl::Time deadline) override;
  bool Accepting() override { return breaker_.WouldAllow(); }

 private:
  std::unique_ptr<payment::v1::PaymentService::Stub> stub_;
  CircuitBreaker& breaker_;
  const std::function<void(grpc::ClientContext&)> authorize_;
};

}  // namespace rentmesh::rental
