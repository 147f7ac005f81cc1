#include "rentmesh/telemetry/stream_owner_start.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::telemetry {

absl::Status StreamOwnerConfig::Validate() const {
  if (grpc_address.empty()) return absl::InvalidArgumentError("--grpc_address is required");
  if (nats_url.empty()) return absl::InvalidArgumentError("--nats_url is required");
  if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
  if (stream_replicas < 1 || stream_replicas > 5) {
    return absl::InvalidArgumentError("--stream_replicas must be within [1, 5]");
  }
  if (workers < 1 || workers > 256) {
    return absl::InvalidArgumentError("--workers must be within [1, 256]");
  }
  if (max_inflight < 1 || max_inflight > 100000) {
    return absl::InvalidArgumentError("--max_inflight must be within [1, 100000]");
  }
  if (max_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_wait must be positive");
  }
  if (stream_max_bytes < 0 || stream_max_msgs < 0 || stream_max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stream limits must not be negative");
  }
  if (rebuild_flush_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--rebuild_flush_interval must be at least 1s");
  }
  if (liveness_pool_bound < absl::Seconds(1) || liveness_follower_bound < absl::Seconds(1)) {
    return absl::InvalidArgumentError("liveness bounds must be at least 1s");
  }
  return absl::OkStatus();
}

nats::StreamSpec StreamOwnerConfig::Limited(nats::StreamSpec stream) const {
  stream.max_bytes = stream_max_bytes;
  stream.max_msgs = stream_max_msgs;
  stream.max_age = stream_max_age;
  return stream;
}

StreamOwnerStart::Options StreamOwnerStart::OptionsFor(const StreamOwnerConfig& config,
                                                       std::string client_name,
                                                       nats::StreamSpec stream,
                                                       nats::ConnectOptions connect) {
  return {config.admin_address,   config.nats_url,    std::move(client_name),
          config.connect_timeout, std::move(connect), config.Limited(std::move(stream))};
}

absl::StatusOr<std::unique_ptr<StreamOwnerStart>> StreamOwnerStart::Start(const Options& options) {
  std::unique_ptr<StreamOwnerStart> out(new StreamOwnerStart());
  StreamOwnerStart* self = out.get();
  absl::StatusOr<std::unique_ptr<ServiceTelemetry>> telemetry =
      ServiceTelemetry::Start(options.admin_address, [self] { return self->Readiness(); });
  if (!telemetry.ok()) {
    return absl::Status(telemetry.status().code(), absl::StrCat("cannot start the admin server: ",
                                                                telemetry.status().message()));
  }
  out->telemetry_ = std::move(*telemetry);
  absl::StatusOr<std::unique_ptr<nats::JetStream>> js = nats::JetStream::Connect(
      options.nats_url, options.client_name, options.connect_timeout, options.connect);
  if (!js.ok()) {
    return absl::Status(js.status().code(),
                        absl::StrCat("cannot connect to NATS: ", js.status().message()));
  }
  out->js_ = std::move(*js);
  out->js_->SetObserver(out->telemetry_.get());
  out->telemetry_->WatchNats(*out->js_);
  out->js_ptr_ = out->js_.get();
  if (absl::Status s = out->js_->EnsureStream(options.stream); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cannot ensure the ", options.stream.name,
                                               " stream: ", s.message()));
  }
  return out;
}

absl::Status StreamOwnerStart::Readiness() const {
  if (!ready_) return absl::UnavailableError("not ready");
  nats::JetStream* js = js_ptr_.load();
  return js != nullptr ? js->StoreHealth() : absl::OkStatus();
}

StreamOwnerStart::~StreamOwnerStart() {
  // As the servers did by hand: the probe stops reading the connection, the
  // connection goes, then the admin server.
  js_ptr_ = nullptr;
  js_.reset();
  telemetry_.reset();
}

}  // namespace rentmesh::telemetry
