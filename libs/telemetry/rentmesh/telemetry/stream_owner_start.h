#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/telemetry/service_telemetry.h"

namespace rentmesh::telemetry {

// The settings every server that owns one stream has (each adds its own):
// filled from its flags in its main.cc.
struct StreamOwnerConfig {
  // Where gRPC listens (port 0 picks a free one), and the admin HTTP server
  // (/metrics, /healthz).
  std::string grpc_address;
  std::string admin_address;
  // NATS server(s), comma-separated.
  std::string nats_url = "nats://127.0.0.1:4222";
  // RocksDB folder of this replica's state (rebuildable from the stream).
  std::string data_dir;
  // Replicas of the stream (1 on one machine, 3 in a cluster).
  int stream_replicas = 1;
  // Threads running use cases, and the in-flight bound beyond which calls
  // get RESOURCE_EXHAUSTED.
  int workers = 8;
  int max_inflight = 256;
  // The longest a call waits on JetStream or catch-up when its deadline
  // allows more.
  absl::Duration max_wait = absl::Seconds(5);
  // How long startup may take to connect.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Startup catches up for as long as it takes (not ready meanwhile),
  // making its progress durable this often, so a restart resumes it.
  absl::Duration rebuild_flush_interval = absl::Seconds(10);
  // Limits of the stream (0: not set here; limits set by hand are kept).
  // Full, it refuses new events (discard=new).
  int64_t stream_max_bytes = 0;
  int64_t stream_max_msgs = 0;
  absl::Duration stream_max_age = absl::ZeroDuration();
  // Liveness goes NOT_SERVING past these (see LivenessWatch).
  absl::Duration liveness_pool_bound = absl::Seconds(30);
  absl::Duration liveness_follower_bound = absl::Seconds(60);
  // Grace for in-flight calls on shutdown.
  absl::Duration shutdown_grace = absl::Seconds(5);

  // INVALID_ARGUMENT naming the first bad setting among these.
  absl::Status Validate() const;
  // `stream` with the configured limits.
  nats::StreamSpec Limited(nats::StreamSpec stream) const;
};

// The start every server that owns one JetStream stream makes: its admin
// server first (so /healthz answers while the rest starts), then the NATS
// connection the admin server watches, then its stream with the configured
// limits. Ready (the readiness probe) once SetReady(true), and then only while
// JetStream accepts the service's events (a full store is not ready).
class StreamOwnerStart {
 public:
  struct Options {
    std::string admin_address;
    std::string nats_url;
    std::string client_name;  // "returns": the NATS connection's name
    absl::Duration connect_timeout;
    nats::ConnectOptions connect;
    nats::StreamSpec stream;  // limits included
  };
  // The options from a server's settings: its stream with their limits.
  static Options OptionsFor(const StreamOwnerConfig& config, std::string client_name,
                            nats::StreamSpec stream, nats::ConnectOptions connect);

  // An error names the step that failed.
  static absl::StatusOr<std::unique_ptr<StreamOwnerStart>> Start(const Options& options);
  ~StreamOwnerStart();

  ServiceTelemetry& telemetry() const { return *telemetry_; }
  nats::JetStream& js() const { return *js_; }
  void SetReady(bool ready) { ready_ = ready; }
  // What the readiness probe answers.
  absl::Status Readiness() const;

 private:
  StreamOwnerStart() = default;

  std::atomic<bool> ready_{false};
  // Read by the readiness probe on the admin server's threads.
  std::atomic<nats::JetStream*> js_ptr_{nullptr};
  std::unique_ptr<ServiceTelemetry> telemetry_;
  std::unique_ptr<nats::JetStream> js_;
};

}  // namespace rentmesh::telemetry
