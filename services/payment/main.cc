// payment_server: the composition root. Flags -> Config -> JetStream -> local
// state -> core -> gRPC and event consumers; shuts down in reverse.

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "payment/adapters/events/payment_event_codec.h"
#include "payment/adapters/inbound/grpc/payment_grpc_service.h"
#include "payment/adapters/inbound/nats/payment_reactions.h"
#include "payment/adapters/inbound/nats/reaction_reconciler.h"
#include "payment/adapters/outbound/ids/derived_payment_ids.h"
#include "payment/adapters/outbound/nats/jetstream_payment_event_log.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_payment_repository.h"
#include "payment/adapters/outbound/rocksdb/rocksdb_rental_status.h"
#include "payment/core/payment_service.h"
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
#include "rentmesh/telemetry/dead_letter_admin.h"
#include "rentmesh/telemetry/durable_catch_up.h"
#include "rentmesh/telemetry/ignored_events.h"
#include "rentmesh/telemetry/liveness_watch.h"
#include "rentmesh/telemetry/service_telemetry.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50052", "Where the gRPC server listens.");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9452",
          "Admin HTTP endpoint: /metrics, /healthz, /admin/deadletters (list) and "
          "/admin/deadletters/replay?seq=N (POST).");
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
ABSL_FLAG(int64_t, stream_max_bytes, 0,
          "Byte limit of the PAYMENT stream (0: not set here; a limit set by hand is kept). "
          "Full, it refuses new events (discard=new): history is never deleted.");
ABSL_FLAG(int64_t, stream_max_msgs, 0, "Message limit of the PAYMENT stream (0: not set here).");
ABSL_FLAG(absl::Duration, stream_max_age, absl::ZeroDuration(),
          "Age limit of the PAYMENT stream (0: not set here).");
ABSL_FLAG(absl::Duration, deadletter_max_age, absl::ZeroDuration(),
          "Age after which dead letters are deleted (0: kept).");
ABSL_FLAG(int64_t, deadletter_max_bytes, 0,
          "Byte limit of the DEADLETTER stream; the oldest go first (0: none).");
ABSL_FLAG(absl::Duration, liveness_pool_bound, absl::Seconds(30),
          "Liveness goes NOT_SERVING when a queued call waited longer than this.");
ABSL_FLAG(absl::Duration, liveness_follower_bound, absl::Seconds(60),
          "Liveness goes NOT_SERVING when a follower had messages to apply and applied none "
          "for this long.");
ABSL_FLAG(absl::Duration, rebuild_flush_interval, absl::Seconds(10),
          "While catching up at start, how often the local state is made durable, so that a "
          "restart resumes the rebuild instead of starting over.");

namespace rentmesh::payment {
namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(30);
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
  int64_t stream_max_bytes = 0;
  int64_t stream_max_msgs = 0;
  absl::Duration stream_max_age;
  absl::Duration deadletter_max_age;
  int64_t deadletter_max_bytes = 0;
  absl::Duration rebuild_flush_interval = absl::Seconds(10);
  absl::Duration liveness_pool_bound = absl::Seconds(30);
  absl::Duration liveness_follower_bound = absl::Seconds(60);

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
    c.stream_max_bytes = absl::GetFlag(FLAGS_stream_max_bytes);
    c.stream_max_msgs = absl::GetFlag(FLAGS_stream_max_msgs);
    c.stream_max_age = absl::GetFlag(FLAGS_stream_max_age);
    c.deadletter_max_age = absl::GetFlag(FLAGS_deadletter_max_age);
    c.deadletter_max_bytes = absl::GetFlag(FLAGS_deadletter_max_bytes);
    c.rebuild_flush_interval = absl::GetFlag(FLAGS_rebuild_flush_interval);
    c.liveness_pool_bound = absl::GetFlag(FLAGS_liveness_pool_bound);
    c.liveness_follower_bound = absl::GetFlag(FLAGS_liveness_follower_bound);
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
    if (stream_max_bytes < 0 || stream_max_msgs < 0 || deadletter_max_bytes < 0 ||
        stream_max_age < absl::ZeroDuration() || deadletter_max_age < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("stream limits must not be negative");
    }
    if (liveness_pool_bound < absl::Seconds(1) || liveness_follower_bound < absl::Seconds(1)) {
      return absl::InvalidArgumentError("liveness bounds must be at least 1s");
    }
    if (rebuild_flush_interval < absl::Seconds(1)) {
      return absl::InvalidArgumentError("--rebuild_flush_interval must be at least 1s");
    }
    return Failpoints::Parse(failpoints).status();
  }

  nats::StreamSpec PaymentStream() const {
    nats::StreamSpec spec = PaymentStreamSpec(stream_replicas);
    spec.max_bytes = stream_max_bytes;
    spec.max_msgs = stream_max_msgs;
    spec.max_age = stream_max_age;
    return spec;
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
  std::atomic<nats::JetStream*> nats_ptr{nullptr};
  // Ready: caught up, and no store refusing our events for being full.
  auto readiness = [&ready, &nats_ptr] {
    if (!ready) return absl::UnavailableError("not ready");
    nats::JetStream* j = nats_ptr.load();
    return j != nullptr ? j->StoreHealth() : absl::OkStatus();
  };
  telemetry::DeadLetterAdmin dead_letters;
  absl::StatusOr<std::unique_ptr<telemetry::ServiceTelemetry>> telemetry =
      telemetry::ServiceTelemetry::Start(config.admin_address, readiness, dead_letters.Routes());
  if (!telemetry.ok()) Die("cannot start the admin server", telemetry.status());

  absl::StatusOr<std::unique_ptr<nats::JetStream>> js = nats::JetStream::Connect(
      config.nats_url, "payment", kConnectTimeout, nats::ConnectOptionsFromFlags());
  if (!js.ok()) Die("cannot connect to NATS", js.status());
  (*js)->SetObserver(telemetry->get());
  (*telemetry)->WatchNats(**js);
  nats_ptr = js->get();
  if (absl::Status s = (*js)->EnsureStream(config.PaymentStream()); !s.ok()) {
    Die("cannot declare the PAYMENT stream", s);
  }

  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> store =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!store.ok()) Die("cannot open the local state", store.status());
  RocksDbPaymentRepository repository(**store,
                                      telemetry::IgnoredEventsCounter((*telemetry)->registry()));
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

  // Not ready meanwhile; progress made durable as it goes.
  if (absl::Status s =
          telemetry::CatchUpDurably(**js, **follower, **store, **telemetry, events::kPaymentStream,
                                    config.rebuild_flush_interval);
      !s.ok()) {
    Die("cannot flush the local state", s);
  }

  // Payment's own fold of RENTAL: a reaction acts only on an effective event.
  RocksDbRentalStatus rental_status(**store);
  std::unique_ptr<nats::StreamFollower> rental_follower;
  std::unique_ptr<FollowedRentalEffects> effects;
  std::unique_ptr<PaymentReactions> reactions;
  std::unique_ptr<PaymentReactionConsumers> consumers;
  std::unique_ptr<ReactionReconciler> reconciler;
  if (config.reactions) {
    if (absl::Status s = (*js)->EnsureStream(RentalStreamSpec(config.stream_replicas)); !s.ok()) {
      Die("cannot declare the RENTAL stream", s);
    }
    absl::StatusOr<uint64_t> rental_position = rental_status.AppliedPosition();
    if (!rental_position.ok()) Die("cannot read the local position", rental_position.status());
    absl::StatusOr<std::unique_ptr<nats::StreamFollower>> followed = nats::StreamFollower::Start(
        **js, {events::kRentalStream, "rental.>", *rental_position, 1024, /*all_headers=*/false},
        [&rental_status](const std::vector<nats::StreamMessage>& batch) {
          return rental_status.ApplyBatch(batch);
        });
    if (!followed.ok()) Die("cannot follow the RENTAL stream", followed.status());
    rental_follower = std::move(*followed);
    effects = std::make_unique<FollowedRentalEffects>(*rental_follower, rental_status);
    reactions = std::make_unique<PaymentReactions>(payments, *effects, telemetry->get());
    PaymentReactionConsumers::Options copts;
    copts.stream_replicas = config.stream_replicas;
    copts.dead_letter_max_age = config.deadletter_max_age;
    copts.dead_letter_max_bytes = config.deadletter_max_bytes;
    absl::StatusOr<std::unique_ptr<PaymentReactionConsumers>> started =
        PaymentReactionConsumers::Start(**js, *reactions, copts);
    if (!started.ok()) Die("cannot start the event reactions", started.status());
    consumers = std::move(*started);
    dead_letters.Attach(consumers->rental());
    // Re-drives reactions the durable did not do (or did: idempotent) a while
    // after payment's RENTAL fold applied their events.
    reconciler = std::make_unique<ReactionReconciler>(**js, rental_status, *reactions,
                                                      ReactionReconciler::Options{});
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
  // Liveness goes NOT_SERVING when wedged; readiness follows a full store.
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{config.liveness_pool_bound, config.liveness_follower_bound,
                                        absl::Seconds(1)},
      &(*telemetry)->events());
  liveness->WatchWorkPool(*pool, "grpc");
  liveness->WatchFollower(**js, **follower, events::kPaymentStream);
  if (rental_follower) liveness->WatchFollower(**js, *rental_follower, events::kRentalStream);
  liveness->WatchReadiness(readiness);
  liveness->Start(server->get());
  (*telemetry)->WatchStateStore(**store);
  (*telemetry)->WatchFollower(**js, **follower, events::kPaymentStream);
  (*telemetry)->SetRebuildProgress(1.0);
  (*telemetry)->WatchWorkPool(*pool);
  if (consumers) {
    (*telemetry)->WatchConsumer(consumers->rental(), PaymentReactionConsumers::kRentalDurable);
    (*telemetry)->WatchFollower(**js, *rental_follower, events::kRentalStream);
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
  dead_letters.DetachAll();
  ready = false;
  liveness.reset();
  (*server)->SetServing(false);
  (*server)->Shutdown(kShutdownGrace);
  server->reset();
  pool.reset();  // runs what is queued, then joins
  reconciler.reset();
  consumers.reset();
  rental_follower.reset();
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
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rentmesh::SetLogService("payment");
  return rentmesh::payment::Run();
}
