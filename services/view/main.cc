// The view service's composition root: flags -> Config -> adapters -> core ->
// followers -> gRPC server; shuts down in reverse.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/inbound/grpc/view_grpc_service.h"
#include "adapters/inbound/nats/view_followers.h"
#include "adapters/outbound/rocksdb/rocksdb_view_store.h"
#include "core/view_service.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/security_flags.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/nats_flags.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/ignored_events.h"
#include "rentmesh/telemetry/liveness_watch.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50054", "Where the gRPC server listens.");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9454",
          "Where the admin HTTP server listens (metrics; wired later).");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server(s), comma-separated.");
ABSL_FLAG(std::string, data_dir, "var/view", "The view's RocksDB folder (rebuildable).");
ABSL_FLAG(int, stream_replicas, 1, "Replicas of a stream the view has to create.");
ABSL_FLAG(std::string, failpoints, "", "Failpoints (name=crash;...), for chaos tests.");
ABSL_FLAG(int, work_threads, 4, "Threads answering calls that waited for a consistency token.");

namespace rentmesh::view {
namespace {

struct Config {
  std::string grpc_address;
  std::string admin_address;
  std::string nats_url;
  std::string data_dir;
  int stream_replicas = 1;
  std::string failpoints;
  int work_threads = 4;

  absl::Status Validate() const {
    if (grpc_address.empty()) return absl::InvalidArgumentError("--grpc_address is required");
    if (nats_url.empty()) return absl::InvalidArgumentError("--nats_url is required");
    if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
    if (stream_replicas < 1 || stream_replicas > 5) {
      return absl::InvalidArgumentError("--stream_replicas must be 1..5");
    }
    if (work_threads < 1 || work_threads > 64) {
      return absl::InvalidArgumentError("--work_threads must be 1..64");
    }
    return absl::OkStatus();
  }
};

int Fail(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", status.ToString()}});
  return 1;
}

int Run(const Config& config) {
  absl::StatusOr<Failpoints> failpoints = Failpoints::Parse(config.failpoints);
  if (!failpoints.ok()) return Fail("bad --failpoints", failpoints.status());

  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(config.admin_address, [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("catching up");
      });
  if (!telemetry.ok()) return Fail("cannot start the admin server", telemetry.status());
  absl::StatusOr<std::unique_ptr<nats::JetStream>> js = nats::JetStream::Connect(
      config.nats_url, "view", absl::Seconds(30), nats::ConnectOptionsFromFlags());
  if (!js.ok()) return Fail("cannot connect to NATS", js.status());
  (*js)->SetObserver(telemetry->get());
  (*telemetry)->WatchNats(**js);
  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> state =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!state.ok()) return Fail("cannot open the state store", state.status());
  RocksDbViewStore store(**state);

  const std::vector<FollowedStream> streams = DefaultFollowedStreams();
  std::vector<std::string> names;
  for (const FollowedStream& s : streams) names.push_back(s.name);
  absl::StatusOr<std::unique_ptr<ViewService>> service = ViewService::Create(store, names);
  if (!service.ok()) return Fail("cannot read the stored positions", service.status());
  (*service)->SetIgnoredObserver(telemetry::IgnoredEventsCounter((*telemetry)->registry()));

  const absl::Time catch_up_start = absl::Now();
  absl::StatusOr<std::unique_ptr<ViewFollowers>> followers =
      ViewFollowers::Start(**js, **service, streams, config.stream_replicas);
  if (!followers.ok()) return Fail("cannot follow the event streams", followers.status());
  // Not serving until the projection holds everything the streams hold now.
  for (absl::Status s = absl::UnknownError(""); !s.ok();) {
    s = (*followers)->CatchUp(absl::Now() + absl::Seconds(10));
    if (!s.ok()) LogWarn("still catching up with the event streams", {{"status", s.ToString()}});
  }
  LogInfo("caught up",
          {{"ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - catch_up_start))},
           {"rental", absl::StrCat((*service)->positions().Applied("RENTAL"))},
           {"payment", absl::StrCat((*service)->positions().Applied("PAYMENT"))},
           {"returns", absl::StrCat((*service)->positions().Applied("RETURNS"))},
           {"delivery", absl::StrCat((*service)->positions().Applied("DELIVERY"))}});

  WorkPool pool(config.work_threads, 1024);
  // Who may call (JWTs, or the mesh), TLS and limits of the gRPC server.
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  ViewGrpcService::Options grpc_options;
  ViewFollowers& follower_ref = **followers;
  grpc_options.stream_heads = [&follower_ref] { return follower_ref.Heads(); };
  ViewGrpcService grpc_service(**service, pool, grpc_options, **auth);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config.grpc_address, {&grpc_service}, (*telemetry)->GrpcInterceptors(), *server_options);
  if (!server.ok()) return Fail("cannot start the gRPC server", server.status());
  (*server)->SetServing(true);
  ready = true;
  // Liveness goes NOT_SERVING when wedged (queries not draining, a follower
  // stalled with messages pending). Readiness stays while NATS is down: the
  // projection still answers from its store.
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{absl::Seconds(30), absl::Seconds(60), absl::Seconds(1)},
      &(*telemetry)->events());
  liveness->WatchWorkPool(pool, "grpc");
  (*followers)->ForEach([&](const std::string& name, const nats::StreamFollower& f) {
    liveness->WatchFollower(**js, f, name);
  });
  liveness->WatchReadiness([&ready]() -> absl::Status {
    return ready ? absl::OkStatus() : absl::UnavailableError("shutting down");
  });
  liveness->Start(server->get());
  (*telemetry)->WatchStateStore(**state);
  (*telemetry)->WatchWorkPool(pool);
  (*telemetry)->SetRebuildProgress(1.0);
  LogInfo("listening",
          {{"grpc", absl::StrCat(config.grpc_address.substr(0, config.grpc_address.rfind(':')), ":",
                                 (*server)->port())},
           {"admin", config.admin_address},
           {"nats", config.nats_url},
           {"data_dir", config.data_dir}});

  const int sig = WaitForTerminationSignal();
  LogInfo("stopping", {{"signal", absl::StrCat(sig)}});
  (*telemetry)->StopAdmin();
  ready = false;
  liveness.reset();
  (*server)->SetServing(false);
  grpc_service.CloseWatches();
  (*server)->Shutdown(absl::Seconds(5));
  server->reset();
  followers->reset();  // No more ApplyBatch after this.
  return 0;
}

}  // namespace
}  // namespace rentmesh::view

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  // Deadlock detection keeps a lock graph on every absl::Mutex acquisition
  // (gRPC's included); it is a debugging aid, not for a serving process.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  rentmesh::SetLogService("view");
  rentmesh::view::Config config;
  config.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  config.admin_address = absl::GetFlag(FLAGS_admin_address);
  config.nats_url = absl::GetFlag(FLAGS_nats_url);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  config.stream_replicas = absl::GetFlag(FLAGS_stream_replicas);
  config.failpoints = absl::GetFlag(FLAGS_failpoints);
  config.work_threads = absl::GetFlag(FLAGS_work_threads);
  if (absl::Status s = config.Validate(); !s.ok()) {
    rentmesh::LogError("bad configuration", {{"error", s.ToString()}});
    return 2;
  }
  return rentmesh::view::Run(config);
}
