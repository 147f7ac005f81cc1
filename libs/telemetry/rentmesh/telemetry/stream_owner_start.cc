#include "rentmesh/telemetry/stream_owner_start.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::telemetry {

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
