// rental_server: the composition root. Flags → Config → adapters → core → server.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "rental/adapters/inbound/grpc/rental_grpc_service.h"
#include "rental/adapters/outbound/grpc/grpc_delivery_gateway.h"
#include "rental/adapters/outbound/grpc/grpc_payment_gateway.h"
#include "rental/adapters/outbound/grpc/grpc_returns_gateway.h"
#include "rental/adapters/outbound/nats/jetstream_book_log.h"
#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"
#include "rental/adapters/outbound/sha256_id_generator.h"
#include "rental/core/rental_service.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/log.h"
#include "rentmesh/common/security_flags.h"
#include "rentmesh/nats/nats_flags.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/snapshot/snapshot_scheduler.h"
#include "rentmesh/snapshot/state_snapshots.h"
#include "rentmesh/telemetry/durable_catch_up.h"
#include "rentmesh/telemetry/ignored_events.h"
#include "rentmesh/telemetry/liveness_watch.h"
#include "rentmesh/telemetry/service_telemetry.h"
#include "rentmesh/telemetry/snapshot_metrics.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051", "gRPC listen address");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9451", "admin HTTP address (metrics)");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, data_dir, "var/data/rental", "RocksDB folder (rebuildable from JetStream)");
ABSL_FLAG(int, stream_replicas, 1, "replicas of the RENTAL stream (3 in a cluster)");
ABSL_FLAG(std::string, payment_address, "127.0.0.1:50052",
          "payment service address(es), comma-separated: each replica, or a name gRPC resolves "
          "to several (dns:///payment-headless:50052); calls spread over them, each with its "
          "own circuit breaker, and move to another when one is down");
ABSL_FLAG(std::string, returns_address, "127.0.0.1:50053", "returns service address");
ABSL_FLAG(std::string, delivery_address, "",
          "delivery service address(es), comma-separated like --payment_address; empty: rentals "
          "have no delivery and CancelRental calls nothing");
ABSL_FLAG(int, delivery_deadline_ms, 2000, "deadline of each DeliveryService.CancelDelivery call");
ABSL_FLAG(int, payment_deadline_ms, 2000, "deadline of each PaymentService.Pay call");
ABSL_FLAG(int, returns_deadline_ms, 2000, "deadline of each ReturnService.ProcessReturn call");
ABSL_FLAG(int, cancel_window_hours, 24, "how long after renting a rental may be cancelled");
ABSL_FLAG(int, reconcile_after_ms, 3000,
          "a reservation still awaiting payment after this long is settled by the reconciler "
          "(must exceed --payment_deadline_ms: the copy is free again soon after a payment "
          "outage unless the same request is retried and paid)");
ABSL_FLAG(int, reconcile_interval_ms, 1000,
          "how often the reconciler looks for stale reservations");
ABSL_FLAG(int, breaker_failures, 5,
          "consecutive failures of one payment (or delivery) endpoint that open its circuit");
ABSL_FLAG(int, breaker_open_ms, 3000,
          "how long a payment (or delivery) circuit stays open before a probe");
ABSL_FLAG(int, workers, 64, "threads running requests (they block on JetStream and payment)");
ABSL_FLAG(int, max_queued, 2048, "requests waiting for a worker before RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, currency, "KRW", "currency of requests that name none");
ABSL_FLAG(std::string, tier_discounts, "",
          "discount per customer tier in percent (0..99), e.g. vip:20,gold:10; a rental is "
          "priced once, when it is made, with its customer's tier (set by a librarian with "
          "SetCustomerTier; \"standard\" otherwise), and keeps that price when this changes");
ABSL_FLAG(int, hold_minutes, 30,
          "how long a hold (HoldBook) keeps its copy before it lapses and the reconciler frees "
          "it (1..10080); a hold keeps the expiry it was placed with when this changes");
ABSL_FLAG(int, drain_ms, 5000, "on SIGTERM, how long in-flight calls may finish");
ABSL_FLAG(std::string, failpoints, "", "chaos testing: name=crash;... (see failpoints.h)");
ABSL_FLAG(int64_t, stream_max_bytes, 0,
          "byte limit of the RENTAL stream (0: not set here; a limit set by hand is kept); "
          "full, it refuses new events: history is never deleted");
ABSL_FLAG(int64_t, stream_max_msgs, 0, "message limit of the RENTAL stream (0: not set here)");
ABSL_FLAG(absl::Duration, stream_max_age, absl::ZeroDuration(),
          "age limit of the RENTAL stream (0: not set here)");
ABSL_FLAG(int64_t, snapshot_every_events, 100000,
          "take a snapshot of the state (to the SNAPSHOT_RENTAL stream) once this many events "
          "were applied since the newest one, whichever replica took it (0: not by count)");
ABSL_FLAG(absl::Duration, snapshot_interval, absl::Minutes(30),
          "take a snapshot once the newest one is this old and events were applied since "
          "(0: not by time); with --snapshot_every_events=0 too, no snapshots are taken");
ABSL_FLAG(bool, snapshot_restore, true,
          "at start, load an empty state store from the newest usable snapshot and replay only "
          "the stream after it (false: replay the whole stream)");

namespace rentmesh::rental {
namespace {

// A week: a hold is a short reservation, not a loan.
constexpr int kMaxHoldMinutes = 7 * 24 * 60;

struct Config {
  std::string grpc_address, admin_address, nats_url, data_dir, payment_address, returns_address;
  std::string currency, failpoints;
  int stream_replicas, payment_deadline_ms, returns_deadline_ms, cancel_window_hours;
  int reconcile_after_ms, reconcile_interval_ms, breaker_failures, breaker_open_ms;
  int workers, max_queued, drain_ms, hold_minutes;
  std::string delivery_address;
  int delivery_deadline_ms;
  int64_t snapshot_every_events;
  absl::Duration snapshot_interval;
  bool snapshot_restore;

  static Config FromFlags() {
    return Config{absl::GetFlag(FLAGS_grpc_address),
                  absl::GetFlag(FLAGS_admin_address),
                  absl::GetFlag(FLAGS_nats_url),
                  absl::GetFlag(FLAGS_data_dir),
                  absl::GetFlag(FLAGS_payment_address),
                  absl::GetFlag(FLAGS_returns_address),
                  absl::GetFlag(FLAGS_currency),
                  absl::GetFlag(FLAGS_failpoints),
                  absl::GetFlag(FLAGS_stream_replicas),
                  absl::GetFlag(FLAGS_payment_deadline_ms),
                  absl::GetFlag(FLAGS_returns_deadline_ms),
                  absl::GetFlag(FLAGS_cancel_window_hours),
                  absl::GetFlag(FLAGS_reconcile_after_ms),
                  absl::GetFlag(FLAGS_reconcile_interval_ms),
                  absl::GetFlag(FLAGS_breaker_failures),
                  absl::GetFlag(FLAGS_breaker_open_ms),
                  absl::GetFlag(FLAGS_workers),
                  absl::GetFlag(FLAGS_max_queued),
                  absl::GetFlag(FLAGS_drain_ms),
                  absl::GetFlag(FLAGS_hold_minutes),
                  absl::GetFlag(FLAGS_delivery_address),
                  absl::GetFlag(FLAGS_delivery_deadline_ms),
                  absl::GetFlag(FLAGS_snapshot_every_events),
                  absl::GetFlag(FLAGS_snapshot_interval),
                  absl::GetFlag(FLAGS_snapshot_restore)};
  }

  absl::Status Validate() const {
    if (grpc_address.empty() || nats_url.empty() || data_dir.empty() || payment_address.empty() ||
        returns_address.empty()) {
      return absl::InvalidArgumentError("addresses, --nats_url and --data_dir must be set");
    }
    if (stream_replicas < 1 || stream_replicas > 5) {
      return absl::InvalidArgumentError("--stream_replicas must be 1..5");
    }
    if (payment_deadline_ms <= 0 || returns_deadline_ms <= 0 || reconcile_interval_ms <= 0 ||
        breaker_failures <= 0 || breaker_open_ms <= 0 || workers <= 0 || max_queued <= 0 ||
        cancel_window_hours < 0 || drain_ms < 0 || delivery_deadline_ms <= 0) {
      return absl::InvalidArgumentError("durations and sizes must be positive");
    }
    if (hold_minutes < 1 || hold_minutes > kMaxHoldMinutes) {
      return absl::InvalidArgumentError(absl::StrCat("--hold_minutes must be between 1 and ",
                                                     kMaxHoldMinutes, ", got ", hold_minutes));
    }
    if (snapshot_every_events < 0 || snapshot_interval < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "--snapshot_every_events and --snapshot_interval must not be negative (0: off)");
    }
    if (reconcile_after_ms <= payment_deadline_ms) {
      return absl::InvalidArgumentError(
          "--reconcile_after_ms must exceed --payment_deadline_ms, so the reconciler never "
          "races the payment call of the request that made a reservation");
    }
    return absl::OkStatus();
  }
};

// Scrape-time gauges of the rent saga: rentmesh_circuit_open{target="payment"},
// rentmesh_rental_pending_reservations and rentmesh_rental_stale_reservations
// (pending longer than `reconcile_after`). Counted up to 10000.
void WatchPaymentAndReservations(telemetry::MetricsRegistry& registry, GrpcPaymentGateway& payment,
                                 GrpcDeliveryGateway* delivery, RentalState& state,
                                 const Clock& clock, absl::Duration reconcile_after) {
  telemetry::GaugeFamily& circuits =
      registry.AddGauge(telemetry::kCircuitOpen,
                        "1 while no circuit breaker towards the target is closed.", {"target"});
  telemetry::Gauge& circuit = circuits.WithLabels({"payment"});
  if (delivery != nullptr) {
    telemetry::Gauge& delivery_circuit = circuits.WithLabels({"delivery"});
    registry.OnCollect(
        [&delivery_circuit, delivery] { delivery_circuit.Set(delivery->CircuitOpen() ? 1 : 0); });
  }
  telemetry::Gauge& pending =
      registry
          .AddGauge(telemetry::kRentalPendingReservations,
                    "Reservations awaiting their payment outcome (PENDING_PAYMENT).")
          .WithLabels({});
  telemetry::Gauge& stale =
      registry
          .AddGauge(telemetry::kRentalStaleReservations,
                    "Reservations awaiting their payment outcome for longer than "
                    "--reconcile_after_ms (the reconciler should have settled them).")
          .WithLabels({});
  registry.OnCollect([&circuit, &pending, &stale, &payment, &state, &clock, reconcile_after] {
    circuit.Set(payment.CircuitOpen() ? 1 : 0);
    absl::StatusOr<std::vector<domain::Rental>> all =
        state.PendingRentals(absl::InfiniteFuture(), 10000);
    if (!all.ok()) return;
    const absl::Time bound = clock.Now() - reconcile_after;
    size_t old = 0;
    for (const domain::Rental& r : *all) old += r.requested_at < bound ? 1 : 0;
    pending.Set(static_cast<double>(all->size()));
    stale.Set(static_cast<double>(old));
  });
}

int Run() {
  const Config config = Config::FromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) {
    LogError("bad configuration", {{"error", s.ToString()}});
    return 2;
  }
  absl::StatusOr<domain::TierPolicy> tiers =
      domain::TierPolicy::Parse(absl::GetFlag(FLAGS_tier_discounts));
  if (!tiers.ok()) {
    LogError("bad --tier_discounts", {{"error", tiers.status().ToString()}});
    return 2;
  }
  absl::StatusOr<Failpoints> failpoints = Failpoints::Parse(config.failpoints);
  if (!failpoints.ok()) {
    LogError("bad --failpoints", {{"error", failpoints.status().ToString()}});
    return 2;
  }

  std::atomic<bool> ready{false};
  auto telemetry = telemetry::ServiceTelemetry::Start(config.admin_address, [&ready] {
    return ready ? absl::OkStatus() : absl::UnavailableError("catching up or NATS unreachable");
  });
  if (!telemetry.ok()) {
    LogError("cannot start the admin server", {{"error", telemetry.status().ToString()}});
    return 1;
  }
  auto js = nats::JetStream::Connect(config.nats_url, "rental", absl::Seconds(30),
                                     nats::ConnectOptionsFromFlags());
  if (!js.ok()) {
    LogError("cannot connect to NATS", {{"error", js.status().ToString()}});
    return 1;
  }
  (*js)->SetObserver(telemetry->get());
  (*telemetry)->WatchNats(**js);
  nats::StreamSpec rental_stream{JetStreamBookLog::kStream,
                                 {JetStreamBookLog::kSubjects},
                                 config.stream_replicas,
                                 absl::Minutes(2)};
  rental_stream.max_bytes = absl::GetFlag(FLAGS_stream_max_bytes);
  rental_stream.max_msgs = absl::GetFlag(FLAGS_stream_max_msgs);
  rental_stream.max_age = absl::GetFlag(FLAGS_stream_max_age);
  if (absl::Status s = (*js)->EnsureStream(rental_stream); !s.ok()) {
    LogError("cannot create the RENTAL stream", {{"error", s.ToString()}});
    return 1;
  }
  const absl::Time restore_started = absl::Now();
  auto store = rocksdb_store::StateStore::Open(config.data_dir);
  if (!store.ok()) {
    LogError("cannot open the state store", {{"error", store.status().ToString()}});
    return 1;
  }
  // Snapshots of the store (a pure fold of RENTAL): an empty store starts
  // from the newest one and replays only the tail after it.
  telemetry::SnapshotMetrics snapshot_metrics((*telemetry)->registry());
  snapshot::SnapshotOptions snapshot_options;
  snapshot_options.service = "rental";
  snapshot_options.stream = JetStreamBookLog::kStream;
  snapshot_options.position_name = RocksDbRentalState::kPositionName;
  snapshot_options.replicas = config.stream_replicas;
  snapshot::StateSnapshots snapshots(**js, snapshot_options);
  snapshot::SnapshotScheduler::Options schedule;
  schedule.every_events = static_cast<uint64_t>(config.snapshot_every_events);
  schedule.interval = config.snapshot_interval;
  bool use_snapshots = config.snapshot_restore || schedule.every_events > 0 ||
                       schedule.interval > absl::ZeroDuration();
  if (use_snapshots) {
    if (absl::Status s = snapshots.EnsureStream(); !s.ok()) {
      // An optimisation only: without it, a replica replays the whole stream.
      LogWarn("cannot create the snapshot stream: no snapshots",
              {{"stream", snapshots.stream_name()}, {"error", s.ToString()}});
      use_snapshots = false;
    }
  }
  if (use_snapshots && config.snapshot_restore) {
    absl::StatusOr<snapshot::RestoreOutcome> restored = snapshots.Restore(**store);
    if (!restored.ok()) {
      LogError("cannot restore the state store", {{"error", restored.status().ToString()}});
      return 1;
    }
    snapshot_metrics.Restored(*restored);
  } else {
    absl::StatusOr<uint64_t> at = (*store)->GetPosition(RocksDbRentalState::kPositionName);
    snapshot::RestoreOutcome outcome;
    outcome.source =
        at.ok() && *at > 0 ? snapshot::RestoreSource::kLocal : snapshot::RestoreSource::kReplay;
    outcome.position = at.value_or(0);
    snapshot_metrics.Restored(outcome);
  }
  telemetry::IgnoredEventFn ignored = telemetry::IgnoredEventsCounter((*telemetry)->registry());
  RocksDbRentalState state(**store, [&ignored](absl::string_view type, absl::string_view reason) {
    ignored(JetStreamBookLog::kStream, type, reason);
  });
  absl::StatusOr<uint64_t> applied = state.AppliedPosition();
  if (!applied.ok()) {
    LogError("cannot read the stored position", {{"error", applied.status().ToString()}});
    return 1;
  }
  LogInfo("following the RENTAL stream", {{"from_position", absl::StrCat(*applied)}});
  auto follower = nats::StreamFollower::Start(
      **js, {JetStreamBookLog::kStream, JetStreamBookLog::kSubjects, *applied, 1024},
      [&state](const std::vector<nats::StreamMessage>& batch) { return state.Apply(batch); });
  if (!follower.ok()) {
    LogError("cannot follow the RENTAL stream", {{"error", follower.status().ToString()}});
    return 1;
  }

  // Who may call (JWTs, or the mesh), TLS and limits of the gRPC server.
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  SystemClock clock;
  JetStreamBookLog log(**js, **follower);
  // rental's own identity on its calls to payment and returns.
  absl::StatusOr<std::unique_ptr<ServiceTokenSource>> token = ServiceTokenFromFlags("rental");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channel_creds =
      ChannelCredentialsFromFlags();
  if (!token.ok() || !channel_creds.ok()) {
    LogError("bad service identity or TLS configuration",
             {{"error", (token.ok() ? channel_creds.status() : token.status()).ToString()}});
    return 2;
  }
  std::function<void(grpc::ClientContext&)> authorize;
  if (*token) authorize = [&t = **token](grpc::ClientContext& ctx) { t.Attach(ctx); };
  GrpcPaymentGateway payment(PaymentChannels(config.payment_address, *channel_creds),
                             {config.breaker_failures, absl::Milliseconds(config.breaker_open_ms)},
                             clock, authorize);
  GrpcReturnsGateway returns(grpc::CreateChannel(config.returns_address, *channel_creds),
                             authorize);
  std::unique_ptr<GrpcDeliveryGateway> delivery;
  if (!config.delivery_address.empty()) {
    delivery = std::make_unique<GrpcDeliveryGateway>(
        FailoverChannels(config.delivery_address, *channel_creds),
        CircuitBreaker::Options{config.breaker_failures,
                                absl::Milliseconds(config.breaker_open_ms)},
        clock, authorize);
  }
  Sha256IdGenerator ids;
  RentalServiceConfig service_config;
  service_config.default_currency = config.currency;
  service_config.payment_timeout = absl::Milliseconds(config.payment_deadline_ms);
  service_config.returns_timeout = absl::Milliseconds(config.returns_deadline_ms);
  service_config.delivery_timeout = absl::Milliseconds(config.delivery_deadline_ms);
  service_config.cancel_window = absl::Hours(config.cancel_window_hours);
  service_config.reconcile_after = absl::Milliseconds(config.reconcile_after_ms);
  service_config.tiers = *tiers;
  service_config.hold_duration = absl::Minutes(config.hold_minutes);
  RentalService service(service_config, log, state, payment, returns, ids, clock, *failpoints,
                        delivery.get());

  (*telemetry)->WatchStateStore(**store);
  (*telemetry)->WatchFollower(**js, **follower, JetStreamBookLog::kStream);
  WatchPaymentAndReservations((*telemetry)->registry(), payment, delivery.get(), state, clock,
                              absl::Milliseconds(config.reconcile_after_ms));

  // Catch up before serving, so the first answers are not stale; the progress
  // is made durable as it goes (the store has no WAL).
  if (absl::Status s = telemetry::CatchUpDurably(**js, **follower, **store, **telemetry,
                                                 JetStreamBookLog::kStream, absl::Seconds(10));
      !s.ok()) {
    LogError("cannot flush the state store", {{"error", s.ToString()}});
    return 1;
  }
  snapshot_metrics.SetRestoreSeconds(absl::Now() - restore_started);
  // Off the request path, on its own thread.
  std::unique_ptr<snapshot::SnapshotScheduler> snapshotter;
  if (use_snapshots) {
    snapshotter = std::make_unique<snapshot::SnapshotScheduler>(
        snapshots, **store, [&follower] { return (*follower)->applied(); }, schedule,
        &snapshot_metrics);
    snapshotter->Start();
  }

  auto pool = std::make_unique<WorkPool>(config.workers, config.max_queued);
  (*telemetry)->WatchWorkPool(*pool);
  RentalGrpcService grpc_service(service, *pool, **auth);
  auto server = GrpcServer::Start(config.grpc_address, {&grpc_service},
                                  (*telemetry)->GrpcInterceptors(), *server_options);
  if (!server.ok()) {
    LogError("cannot start the gRPC server", {{"error", server.status().ToString()}});
    return 1;
  }
  (*server)->SetServing(true);
  ready = true;
  // Liveness goes NOT_SERVING when wedged (the work pool not draining, the
  // follower stalled with messages pending); readiness while NATS is
  // unreachable or the RENTAL stream is full (writes would fail anyway).
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{absl::Seconds(30), absl::Seconds(60), absl::Seconds(1)},
      &(*telemetry)->events());
  liveness->WatchWorkPool(*pool, "grpc");
  liveness->WatchFollower(**js, **follower, JetStreamBookLog::kStream);
  liveness->WatchReadiness([&js, &ready]() -> absl::Status {
    if (!ready) return absl::UnavailableError("shutting down");
    if (!(*js)->Connected()) return absl::UnavailableError("NATS unreachable");
    return (*js)->StoreHealth();
  });
  liveness->Start(server->get());
  LogInfo("rental service listening", {{"grpc", config.grpc_address},
                                       {"tier_discounts", tiers->ToString()},
                                       {"port", absl::StrCat((*server)->port())},
                                       {"admin_port", absl::StrCat((*telemetry)->admin_port())}});

  // Background upkeep: settle stale reservations, release lapsed holds.
  std::atomic<bool> stopping{false};
  std::thread upkeep([&] {
    bool connected_before = true;
    while (!stopping) {
      bool connected = (*js)->Connected();
      if (connected != connected_before) {
        connected_before = connected;
        LogWarn(connected ? "NATS reachable again" : "NATS unreachable: NOT_SERVING");
      }
      if (connected) {
        CallContext ctx;
        ctx.deadline = absl::Now() + absl::Seconds(10);
        absl::StatusOr<int> settled = service.ReconcilePending(ctx);
        if (settled.ok() && *settled > 0) {
          LogInfo("settled stale reservations", {{"count", absl::StrCat(*settled)}});
        }
        absl::StatusOr<int> expired = service.ExpireHolds(ctx);
        if (expired.ok() && *expired > 0) {
          LogInfo("released lapsed holds", {{"count", absl::StrCat(*expired)}});
        }
        absl::StatusOr<int> granted = service.GrantWaitingHolds(ctx);
        if (granted.ok() && *granted > 0) {
          LogInfo("granted waiting holds", {{"count", absl::StrCat(*granted)}});
        }
      }
      for (int i = 0; i < config.reconcile_interval_ms / 50 + 1 && !stopping; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });

  int sig = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", absl::StrCat(sig)}});
  (*telemetry)->StopAdmin();
  stopping = true;
  ready = false;
  upkeep.join();
  liveness.reset();
  snapshotter.reset();
  (*server)->Shutdown(absl::Milliseconds(config.drain_ms));
  pool.reset();  // finishes queued work
  return 0;
}

}  // namespace
}  // namespace rentmesh::rental

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rentmesh::SetLogService("rental");
  return rentmesh::rental::Run();
}
