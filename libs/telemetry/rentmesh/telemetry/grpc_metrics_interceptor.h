#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rentmesh/telemetry/metrics.h"

namespace rentmesh::telemetry {

// Creates, per RPC, an interceptor that records when the server sends the
// status:
//   rentmesh_grpc_server_handled_total{service,method,code}   counter
//   rentmesh_grpc_server_handling_seconds{service,method}     histogram
// `service` is the full proto service ("rentmesh.rental.v1.RentalService"),
// `method` the bare method ("RentBook"), `code` the canonical code name
// ("OK", "UNAVAILABLE", ...). A call that ends without the server sending a
// status (the client went away) is counted as CANCELLED. Streaming calls are
// timed from start to status, i.e. for their whole life.
//
// Kubelet probes (grpc.health.v1) and reflection are not counted unless
// `count_probes`: they are not the service's traffic and would flatter the
// RED panels.
//
// Install with grpc::ServerBuilder::experimental().SetInterceptorCreators().
// `registry` must outlive every server using the factory.
class GrpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(MetricsRegistry& registry, bool count_probes = false);

  // grpc::experimental::ServerInterceptorFactoryInterface
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CounterFamily& handled_;
  HistogramFamily& handling_seconds_;
  const bool count_probes_;
};

// Convenience for GrpcServer::Start: the interceptor list with the metrics one.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
MakeGrpcServerInterceptors(MetricsRegistry& registry, bool count_probes = false);

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" for out-of-range values.
std::string_view GrpcCodeName(grpc::StatusCode code);

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; anything else -> {"unknown", path}.
std::pair<std::string, std::string> SplitGrpcMethod(std::string_view full_method);

}  // namespace rentmesh::telemetry
