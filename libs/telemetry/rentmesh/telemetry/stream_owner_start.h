#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/telemetry/service_telemetry.h"

namespace rentmesh::telemetry {

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
