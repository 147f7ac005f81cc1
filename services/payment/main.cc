// payment_server: the composition root. Flags -> Config -> JetStream -> local
// state -> core -> gRPC and event consumers; shuts down in reverse.

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "payment/adapters/inbound/grpc/payment_grpc_service.h"
#include "payment/adapters/inbound/nats/payment_reactions.h"
#include "payment/adapters/outbound/ids/derived_payment_ids.h"
#include "payment/adapters/outbound/nats/jetstream_payment_event_log.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_payment_repository.h"
#include "payment/core/payment_service.h"
#include "rentmesh/common/clock.h"
#include "rentmesh/common/failpoints.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/security_flags.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50052", "Where the gRPC server listens.");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9452",
          "Admin HTTP endpoint (metrics, health); accepted, served once metrics are wired.");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server(s), comma-separated.");
ABSL_FLAG(std::string, data_dir, "var/payment", "RocksDB folder of this instance's local state.");
ABSL_FLAG(int, stream_replicas, 1, "JetStream replicas of the streams payment declares.");
ABSL_FLAG(int, workers, 32, "Threads that run calls (JetStream round trips).");
ABSL_FLAG(int, max_inflight, 256,
          "Calls queued for the workers beyond which calls fail with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, max_amount_minor, 1000000, "Rental fees above this (minor units) are declined.");
ABSL_FLAG(std::string, failpoints, "", "Chaos failpoints, e.g. payment.after_append=crash.");
ABSL_FLAG(bool, reactions, true,
          "Run the event reactions (refund on cancel, void on abort, late fees).");

namespace rentmesh::payment {
namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(30);
constexpr absl::Duration kCatchUpTimeout = absl::Seconds(60);
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

struct Config {
  std::string grpc_address;
  std::string admin_address;
  std::string nats_url;
  std::string data_dir;
  int stream_replicas = 1;
  int workers = 32;
  int max_inflight = 256;
  int64_t max_amount_minor = 1000000;
  std::string failpoints;
  bool reactions = true;

  static Config FromFlags() {
    Config c;
    c.grpc_address = absl::GetFlag(FLAGS_grpc_address);
    c.admin_address = absl::GetFlag(FLAGS_admin_address);
    c.nats_url = absl::GetFlag(FLAGS_nats_url);
    c.data_dir = absl::GetFlag(FLAGS_data_dir);
    c.stream_replicas = absl::GetFlag(FLAGS_stream_replicas);
    c.workers = absl::GetFlag(FLAGS_workers);
    c.max_inflight = absl::GetFlag(FLAGS_max_inflight);
    c.max_amount_minor = absl::GetFlag(FLAGS_max_amount_minor);
    c.failpoints = absl::GetFlag(FLAGS_failpoints);
    c.reactions = absl::GetFlag(FLAGS_reactions);
    return c;
  }

  absl::Status Validate() const {
    if (grpc_address.empty()) return absl::InvalidArgumentError("--grpc_address is required");
    if (nats_url.empty()) return absl::InvalidArgumentError("--nats_url is required");
    if (data_dir.empty()) return absl::InvalidArgumentError("--data_dir is required");
    if (stream_replicas < 1 || stream_replicas > 5) {
      return absl::InvalidArgumentError("--stream_replicas must be 1..5");
    }
    if (workers < 1 || workers > 1024)
      return absl::InvalidArgumentError("--workers must be 1..1024");
    if (max_inflight < 1) return absl::InvalidArgumentError("--max_inflight must be at least 1");
    if (max_amount_minor < 1) {
      return absl::InvalidArgumentError("--max_amount_minor must be at least 1");
    }
    return Failpoints::Parse(failpoints).status();
  }
};

[[noreturn]] void Die(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", status.ToString()}});
  std::exit(1);
}

int Run() {
  Config config = Config::FromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) Die("invalid configuration", s);
  absl::StatusOr<Failpoints> failpoints = Failpoints::Parse(config.failpoints);
  if (!failpoints.ok()) Die("invalid failpoints", failpoints.status());

  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(config.admin_address, [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("not ready");
      });
  if (!telemetry.ok()) Die("cannot start the admin server", telemetry.status());

  absl::StatusOr<std::unique_ptr<nats::JetStream>> js =
      nats::JetStream::Connect(config.nats_url, "payment", kConnectTimeout);
  if (!js.ok()) Die("cannot connect to NATS", js.status());
  (*js)->SetObserver(telemetry->get());
  if (absl::Status s = (*js)->EnsureStream(PaymentStreamSpec(config.stream_replicas)); !s.ok()) {
    Die("cannot declare the PAYMENT stream", s);
  }

  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> store =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!store.ok()) Die("cannot open the local state", store.status());
  RocksDbPaymentRepository repository(**store);
  absl::StatusOr<uint64_t> position = repository.AppliedPosition();
  if (!position.ok()) Die("cannot read the local position", position.status());

  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower =
      nats::StreamFollower::Start(**js, {events::kPaymentStream, "payment.>", *position, 1024},
                                  [&repository](const std::vector<nats::StreamMessage>& batch) {
                                    return repository.ApplyBatch(batch);
                                  });
  if (!follower.ok()) Die("cannot follow the PAYMENT stream", follower.status());
  JetStreamPaymentEventLog log(**js, **follower, *failpoints);
  DerivedPaymentIds ids;
  SystemClock clock;
  PaymentService payments(log, repository, ids, clock, PaymentPolicy{config.max_amount_minor});

  if (absl::Status s = (*follower)->CatchUp(absl::Now() + kCatchUpTimeout); !s.ok()) {
    Die("cannot catch up with the PAYMENT stream", s);
  }
  LogInfo("caught up",
          {{"stream", events::kPaymentStream}, {"applied", absl::StrCat((*follower)->applied())}});

  PaymentReactions reactions(payments);
  std::unique_ptr<PaymentReactionConsumers> consumers;
  if (config.reactions) {
    absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> started =
        PaymentReactionConsumers::Start(**js, reactions, {config.stream_replicas});
    if (!started.ok()) Die("cannot start the event reactions", started.status());
    consumers = std::move(*started);
  }

  auto pool = std::make_unique<WorkPool>(config.workers, static_cast<size_t>(config.max_inflight));
  // Who may call (JWTs, or the mesh), TLS and limits of the gRPC server.
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  PaymentGrpcService grpc_service(payments, *pool, **auth);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config.grpc_address, {&grpc_service}, (*telemetry)->GrpcInterceptors(), *server_options);
  if (!server.ok()) Die("cannot start the gRPC server", server.status());
  (*server)->SetServing(true);
  ready = true;
  (*telemetry)->WatchStateStore(**store);
  (*telemetry)->WatchFollower(**js, **follower, events::kPaymentStream);
  (*telemetry)->SetRebuildProgress(1.0);
  (*telemetry)->WatchWorkPool(*pool);
  if (consumers) {
    (*telemetry)->WatchConsumer(consumers->rental(), PaymentReactionConsumers::kRentalDurable);
    (*telemetry)->WatchConsumer(consumers->returns(), PaymentReactionConsumers::kReturnsDurable);
  }
  LogInfo("listening",
          {{"grpc", absl::StrCat(config.grpc_address.substr(0, config.grpc_address.rfind(':')), ":",
                                 (*server)->port())},
           {"admin", config.admin_address},
           {"nats", config.nats_url},
           {"data_dir", config.data_dir}});

  int sig = WaitForTerminationSignal();
  LogInfo("stopping", {{"signal", absl::StrCat(sig)}});
  (*telemetry)->StopAdmin();
  ready = false;
  (*server)->SetServing(false);
  (*server)->Shutdown(kShutdownGrace);
  server->reset();
  pool.reset();  // runs what is queued, then joins
  consumers.reset();
  follower->reset();
  store->reset();
  js->reset();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace rentmesh::payment

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  rentmesh::SetLogService("payment");
  return rentmesh::payment::Run();
}
