#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rentmesh {

// A gRPC server with what every rentmesh server has: grpc.health.v1 (overall
// and per service), server reflection (grpcurl list/describe without proto
// files), and a graceful shutdown.
class GrpcServer {
 public:
  using Interceptors =
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>;

  // Listens on `address` ("127.0.0.1:50051"; port 0 picks a free one).
  // The services must outlive the server. Health has two entries:
  //   ""          readiness: starts NOT_SERVING; SetServing(true) once the
  //               instance is ready (caught up, dependencies reachable)
  //   "liveness"  SERVING while the process runs and is not wedged (a NATS
  //               outage must not get every pod restarted); NOT_SERVING on
  //               Shutdown, or while SetLive(false) (see telemetry's
  //               LivenessWatch: work pool not draining, follower stalled).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& address, const std::vector<grpc::Service*>& services,
      Interceptors interceptors = {});
  ~GrpcServer();

  int port() const { return port_; }
  // Sets readiness (the "" health entry).
  void SetServing(bool serving);
  // Sets the "liveness" entry; no effect after Shutdown.
  void SetLive(bool live);

  static constexpr char kLivenessService[] = "liveness";
  // Reports NOT_SERVING, lets in-flight calls finish for up to `grace`, then
  // cancels what is left.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::atomic<bool> shut_down_{false};
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts
// afterwards; call first thing in main.
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM; returns the signal number.
int WaitForTerminationSignal();

}  // namespace rentmesh
