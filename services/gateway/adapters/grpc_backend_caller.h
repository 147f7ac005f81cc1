#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/core/backend_caller.h"

namespace rentmesh::gateway {

// BackendCaller over gRPC with generic (byte-buffer) calls, so one class
// serves every service: no per-service client code. One channel per backend,
// shared by all requests (HTTP/2 multiplexing).
class GrpcBackendCaller final : public BackendCaller {
 public:
  // `addresses`: backend name ("rental") -> "host:port". `credentials` null:
  // plaintext (loopback, or the mesh does mTLS); else TLS/mTLS to services
  // that serve it. INVALID_ARGUMENT on an empty address.
  static absl::StatusOr<std::unique_ptr<GrpcBackendCaller>> Create(
      const std::map<std::string, std::string>& addresses,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  // BackendCaller
  absl::StatusOr<std::string> Unary(const BackendCall& call) override;
  // gRPC's callback API: `done` runs on a gRPC thread.
  void UnaryAsync(const BackendCall& call,
                  std::function<void(absl::StatusOr<std::string>)> done) override;
  std::unique_ptr<MessageStream> ServerStream(const BackendCall& call) override;

 private:
  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  explicit GrpcBackendCaller(std::map<std::string, Backend> backends)
      : backends_(std::move(backends)) {}
  const Backend* Find(const std::string& backend) const;

  const std::map<std::string, Backend> backends_;
};

}  // namespace rentmesh::gateway
