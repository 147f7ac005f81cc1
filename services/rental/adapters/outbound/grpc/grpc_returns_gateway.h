#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>

#include "rental/core/ports/returns_gateway.h"
#include "rentmesh/returns/v1/returns.grpc.pb.h"

namespace rentmesh::rental {

// ReturnService over gRPC, with a deadline on every call.
class GrpcReturnsGateway final : public ReturnsGateway {
 public:
  // `authorize` adds this service's credentials to each call (may be empty).
  explicit GrpcReturnsGateway(std::shared_ptr<grpc::Channel> channel,
                              std::function<void(grpc::ClientContext&)> authorize = {})
      : stub_(returns::v1::ReturnService::NewStub(std::move(channel))),
        authorize_(std::move(authorize)) {}

  // ReturnsGateway
  absl::StatusOr<ReturnOutcome> ProcessReturn(const ReturnRequest& request,
                                              absl::Time deadline) override;

 private:
  std::unique_ptr<returns::v1::ReturnService::Stub> stub_;
  const std::function<void(grpc::ClientContext&)> authorize_;
};

}  // namespace rentmesh::rental
