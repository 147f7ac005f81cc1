// The returns server: composition root only. Flags -> ReturnsConfig ->
// adapters -> core -> gRPC, and shutdown in reverse.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/inbound/grpc/return_grpc_service.h"
#include "adapters/outbound/ids/derived_return_id_scheme.h"
#include "adapters/outbound/nats/jetstream_return_event_log.h"
#include "adapters/outbound/rocksdb/rocksdb_return_repository.h"
#include "core/returns_service.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/security_flags.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/nats_flags.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/durable_catch_up.h"
#include "rentmesh/telemetry/liveness_watch.h"
#include "rentmesh/telemetry/service_telemetry.h"
#include "rentmesh/telemetry/stream_owner_start.h"
#include "returns_config.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50053", "gRPC listen address (port 0: any)");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9453",
          "admin HTTP address: /metrics and /healthz");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, data_dir, "var/returns", "RocksDB folder of this replica's local state");
ABSL_FLAG(int, stream_replicas, 1, "replicas of the RETURNS stream");
ABSL_FLAG(std::string, failpoints, "", "failpoints, e.g. returns.after_append=crash");
ABSL_FLAG(int, workers, 8, "threads running use cases");
ABSL_FLAG(int, max_inflight, 256, "queued calls beyond which calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(5), "longest wait on JetStream per call");
ABSL_FLAG(int64_t, stream_max_bytes, 0,
          "byte limit of the RETURNS stream (0: not set here; a limit set by hand is kept); "
          "full, it refuses new events: history is never deleted");
ABSL_FLAG(int64_t, stream_max_msgs, 0, "message limit of the RETURNS stream (0: not set here)");
ABSL_FLAG(absl::Duration, stream_max_age, absl::ZeroDuration(),
          "age limit of the RETURNS stream (0: not set here)");
ABSL_FLAG(absl::Duration, rebuild_flush_interval, absl::Seconds(10),
          "while catching up at start, how often progress is made durable");
ABSL_FLAG(absl::Duration, liveness_pool_bound, absl::Seconds(30),
          "liveness NOT_SERVING when a queued call waited longer than this");
ABSL_FLAG(absl::Duration, liveness_follower_bound, absl::Seconds(60),
          "liveness NOT_SERVING when the follower had messages to apply and applied none for "
          "this long");
ABSL_FLAG(int64_t, late_fee_per_day_minor, 500, "late fee per started overdue day (minor units)");
ABSL_FLAG(int64_t, damage_fee_minor, 10000, "charge for a damaged copy (minor units)");
ABSL_FLAG(std::string, currency, "KRW", "ISO 4217 currency of the fees");

namespace rentmesh::returns {
namespace {

ReturnsConfig ConfigFromFlags() {
  ReturnsConfig c;
  c.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  c.admin_address = absl::GetFlag(FLAGS_admin_address);
  c.nats_url = absl::GetFlag(FLAGS_nats_url);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.stream_replicas = absl::GetFlag(FLAGS_stream_replicas);
  c.failpoints = absl::GetFlag(FLAGS_failpoints);
  c.workers = absl::GetFlag(FLAGS_workers);
  c.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  c.max_wait = absl::GetFlag(FLAGS_max_wait);
  c.stream_max_bytes = absl::GetFlag(FLAGS_stream_max_bytes);
  c.stream_max_msgs = absl::GetFlag(FLAGS_stream_max_msgs);
  c.stream_max_age = absl::GetFlag(FLAGS_stream_max_age);
  c.rebuild_flush_interval = absl::GetFlag(FLAGS_rebuild_flush_interval);
  c.liveness_pool_bound = absl::GetFlag(FLAGS_liveness_pool_bound);
  c.liveness_follower_bound = absl::GetFlag(FLAGS_liveness_follower_bound);
  c.fees.late_fee_per_day_minor = absl::GetFlag(FLAGS_late_fee_per_day_minor);
  c.fees.damage_fee_minor = absl::GetFlag(FLAGS_damage_fee_minor);
  c.fees.currency = absl::GetFlag(FLAGS_currency);
  return c;
}

[[noreturn]] void Fail(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", status.ToString()}});
  std::exit(1);
}

int Run(const ReturnsConfig& config) {
  absl::StatusOr<Failpoints> failpoints = Failpoints::Parse(config.failpoints);
  if (!failpoints.ok()) Fail("bad --failpoints", failpoints.status());

  absl::StatusOr<std::unique_ptr<telemetry::StreamOwnerStart>> base =
      telemetry::StreamOwnerStart::Start(telemetry::StreamOwnerStart::OptionsFor(
          config, "returns", JetStreamReturnEventLog::Stream(config.stream_replicas),
          nats::ConnectOptionsFromFlags()));
  if (!base.ok()) Fail("cannot start", base.status());
  telemetry::ServiceTelemetry& telemetry = (*base)->telemetry();
  nats::JetStream& js = (*base)->js();
  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> store =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!store.ok()) Fail("cannot open the state store", store.status());

  RocksDbReturnRepository repository(**store);
  absl::StatusOr<uint64_t> applied = repository.AppliedPosition();
  if (!applied.ok()) Fail("cannot read the stored position", applied.status());
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower =
      nats::StreamFollower::Start(js, {events::kReturnsStream, "returns.>", *applied, 1024},
                                  [&repository](const std::vector<nats::StreamMessage>& batch) {
                                    return repository.Apply(batch);
                                  });
  if (!follower.ok()) Fail("cannot follow the RETURNS stream", follower.status());
  LogInfo("catching up", {{"stream", events::kReturnsStream}, {"from", absl::StrCat(*applied)}});
  // Not ready meanwhile; progress made durable as it goes.
  if (absl::Status s =
          telemetry::CatchUpDurably(js, **follower, **store, telemetry, events::kReturnsStream,
                                    config.rebuild_flush_interval);
      !s.ok()) {
    Fail("cannot flush the state store", s);
  }

  JetStreamReturnEventLog log(js, **follower, *failpoints, config.max_wait);
  DerivedReturnIdScheme ids;
  SystemClock clock;
  ReturnsService service(repository, log, ids, clock, config.fees);
  WorkPool pool(config.workers, static_cast<size_t>(config.max_inflight));
  // Who may call (JWTs, or the mesh), TLS and limits of the gRPC server.
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  ReturnGrpcService grpc_service(service, pool, config.max_wait, **auth);

  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config.grpc_address, {&grpc_service}, telemetry.GrpcInterceptors(), *server_options);
  if (!server.ok()) Fail("cannot start the gRPC server", server.status());
  (*server)->SetServing(true);
  (*base)->SetReady(true);
  // Liveness goes NOT_SERVING when wedged; readiness follows a full store.
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{config.liveness_pool_bound, config.liveness_follower_bound,
                                        absl::Seconds(1)},
      &telemetry.events());
  liveness->WatchWorkPool(pool, "grpc");
  liveness->WatchFollower(js, **follower, events::kReturnsStream);
  liveness->WatchReadiness([b = base->get()] { return b->Readiness(); });
  liveness->Start(server->get());
  telemetry.WatchStateStore(**store);
  telemetry.WatchFollower(js, **follower, events::kReturnsStream);
  telemetry.WatchWorkPool(pool);
  telemetry.SetRebuildProgress(1.0);
  const std::string host = config.grpc_address.substr(0, config.grpc_address.rfind(':'));
  LogInfo("listening", {{"addr", absl::StrCat(host, ":", (*server)->port())},
                        {"grpc_service", "rentmesh.returns.v1.ReturnService"},
                        {"applied", absl::StrCat((*follower)->applied())}});

  const int signal = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", absl::StrCat(signal)}});
  telemetry.StopAdmin();
  (*base)->SetReady(false);
  liveness.reset();
  (*server)->SetServing(false);
  (*server)->Shutdown(config.shutdown_grace);
  server->reset();
  // The pool drains before the follower, the JetStream connection and the
  // store it writes to go away (declaration order does the rest).
  return 0;
}

}  // namespace
}  // namespace rentmesh::returns

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  rentmesh::SetLogService("returns");
  absl::ParseCommandLine(argc, argv);
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rentmesh::returns::ReturnsConfig config = rentmesh::returns::ConfigFromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) {
    rentmesh::LogError("bad configuration", {{"error", s.ToString()}});
    return 2;
  }
  return rentmesh::returns::Run(config);
}
