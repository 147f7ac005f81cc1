// The delivery server: composition root only. Flags -> DeliveryConfig ->
// adapters -> core -> gRPC, and shutdown in reverse.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/inbound/grpc/delivery_grpc_service.h"
#include "adapters/inbound/nats/rental_event_consumer.h"
#include "adapters/outbound/ids/derived_delivery_id_scheme.h"
#include "adapters/outbound/nats/jetstream_delivery_event_log.h"
#include "adapters/outbound/rocksdb/rocksdb_delivery_repository.h"
#include "core/delivery_service.h"
#include "delivery_config.h"
#include "rentmesh/common/clock.h"
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
#include "rentmesh/telemetry/metric_names.h"
#include "rentmesh/telemetry/metrics.h"
#include "rentmesh/telemetry/service_telemetry.h"
#include "rentmesh/telemetry/stream_owner_start.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50055", "gRPC listen address (port 0: any)");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9455",
          "admin HTTP address: /metrics and /healthz");
ABSL_FLAG(std::string, nats_url, "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated");
ABSL_FLAG(std::string, data_dir, "var/delivery", "RocksDB folder of this replica's local state");
ABSL_FLAG(int, stream_replicas, 1, "replicas of the DELIVERY stream");
ABSL_FLAG(int, workers, 8, "threads running use cases");
ABSL_FLAG(int, max_inflight, 256, "queued calls beyond which calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(5), "longest wait on JetStream per call");
ABSL_FLAG(int64_t, stream_max_bytes, 0,
          "byte limit of the DELIVERY stream (0: not set here; a limit set by hand is kept); "
          "full, it refuses new events: history is never deleted");
ABSL_FLAG(int64_t, stream_max_msgs, 0, "message limit of the DELIVERY stream (0: not set here)");
ABSL_FLAG(absl::Duration, stream_max_age, absl::ZeroDuration(),
          "age limit of the DELIVERY stream (0: not set here)");
ABSL_FLAG(absl::Duration, rebuild_flush_interval, absl::Seconds(10),
          "while catching up at start, how often progress is made durable");
ABSL_FLAG(absl::Duration, liveness_pool_bound, absl::Seconds(30),
          "liveness NOT_SERVING when a queued call waited longer than this");
ABSL_FLAG(absl::Duration, liveness_follower_bound, absl::Seconds(60),
          "liveness NOT_SERVING when the follower had messages to apply and applied none for "
          "this long");
ABSL_FLAG(absl::Duration, retry_initial, absl::Milliseconds(100),
          "first redelivery delay of a BookRented that could not be handled");
ABSL_FLAG(absl::Duration, retry_max, absl::Seconds(30), "longest redelivery delay");
ABSL_FLAG(std::string, couriers, "",
          "couriers recorded at start-up when missing, as <courier_id>@<region>,...");
ABSL_FLAG(std::string, customer_regions, "",
          "where customers live, as <customer_id>=<region>,...; others: --default_region");
ABSL_FLAG(std::string, default_region, "central", "the region of customers not listed");

namespace rentmesh::delivery {
namespace {

// The deliveries waiting for a courier, per region, refreshed at scrape time.
// Every region the service knows (the default, the customers' and the
// couriers') shows 0 rather than nothing while none waits.
void WatchBacklog(telemetry::MetricsRegistry& registry, const DeliveryService& service,
                  const Clock& clock, const std::vector<std::string>& known_regions) {
  telemetry::GaugeFamily& waiting =
      registry.AddGauge(telemetry::kDeliveryAwaitingCourier,
                        "Deliveries waiting for a courier (REQUESTED) in the region.", {"region"});
  telemetry::GaugeFamily& oldest = registry.AddGauge(
      telemetry::kDeliveryAwaitingCourierOldestSeconds,
      "Seconds the oldest delivery waiting for a courier in the region has waited (0: none).",
      {"region"});
  for (const std::string& region : known_regions) {
    waiting.WithLabels({region}).Set(0);
    oldest.WithLabels({region}).Set(0);
  }
  registry.OnCollect([&waiting, &oldest, &service, &clock, known_regions] {
    absl::StatusOr<std::map<std::string, DeliveryService::Backlog>> backlog =
        service.AwaitingCourier(10000);
    if (!backlog.ok()) return;
    const absl::Time now = clock.Now();
    for (const std::string& region : known_regions) {
      if (backlog->count(region) == 0) (*backlog)[region] = {};
    }
    for (const auto& [region, b] : *backlog) {
      waiting.WithLabels({region}).Set(static_cast<double>(b.waiting));
      oldest.WithLabels({region}).Set(
          b.waiting == 0 ? 0 : absl::ToDoubleSeconds(now - b.oldest_requested_at));
    }
  });
}

DeliveryConfig ConfigFromFlags() {
  DeliveryConfig c;
  c.grpc_address = absl::GetFlag(FLAGS_grpc_address);
  c.admin_address = absl::GetFlag(FLAGS_admin_address);
  c.nats_url = absl::GetFlag(FLAGS_nats_url);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.stream_replicas = absl::GetFlag(FLAGS_stream_replicas);
  c.workers = absl::GetFlag(FLAGS_workers);
  c.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  c.max_wait = absl::GetFlag(FLAGS_max_wait);
  c.stream_max_bytes = absl::GetFlag(FLAGS_stream_max_bytes);
  c.stream_max_msgs = absl::GetFlag(FLAGS_stream_max_msgs);
  c.stream_max_age = absl::GetFlag(FLAGS_stream_max_age);
  c.rebuild_flush_interval = absl::GetFlag(FLAGS_rebuild_flush_interval);
  c.liveness_pool_bound = absl::GetFlag(FLAGS_liveness_pool_bound);
  c.liveness_follower_bound = absl::GetFlag(FLAGS_liveness_follower_bound);
  c.retry_initial = absl::GetFlag(FLAGS_retry_initial);
  c.retry_max = absl::GetFlag(FLAGS_retry_max);
  c.couriers = absl::GetFlag(FLAGS_couriers);
  c.customer_regions = absl::GetFlag(FLAGS_customer_regions);
  c.default_region = absl::GetFlag(FLAGS_default_region);
  return c;
}

[[noreturn]] void Fail(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", status.ToString()}});
  std::exit(1);
}

int Run(const DeliveryConfig& config) {
  absl::StatusOr<std::unique_ptr<telemetry::StreamOwnerStart>> base =
      telemetry::StreamOwnerStart::Start(telemetry::StreamOwnerStart::OptionsFor(
          config, "delivery", JetStreamDeliveryEventLog::Stream(config.stream_replicas),
          nats::ConnectOptionsFromFlags()));
  if (!base.ok()) Fail("cannot start", base.status());
  telemetry::ServiceTelemetry& telemetry = (*base)->telemetry();
  nats::JetStream& js = (*base)->js();
  absl::StatusOr<std::unique_ptr<rocksdb_store::StateStore>> store =
      rocksdb_store::StateStore::Open(config.data_dir);
  if (!store.ok()) Fail("cannot open the state store", store.status());

  RocksDbDeliveryRepository repository(**store);
  absl::StatusOr<uint64_t> applied = repository.AppliedPosition();
  if (!applied.ok()) Fail("cannot read the stored position", applied.status());
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower =
      nats::StreamFollower::Start(js, {events::kDeliveryStream, "delivery.>", *applied, 1024},
                                  [&repository](const std::vector<nats::StreamMessage>& batch) {
                                    return repository.Apply(batch);
                                  });
  if (!follower.ok()) Fail("cannot follow the DELIVERY stream", follower.status());
  LogInfo("catching up", {{"stream", events::kDeliveryStream}, {"from", absl::StrCat(*applied)}});
  if (absl::Status s =
          telemetry::CatchUpDurably(js, **follower, **store, telemetry, events::kDeliveryStream,
                                    config.rebuild_flush_interval);
      !s.ok()) {
    Fail("cannot flush the state store", s);
  }

  JetStreamDeliveryEventLog log(js, **follower, config.max_wait);
  DerivedDeliveryIdScheme ids;
  SystemClock clock;
  DeliveryService::Options service_options;
  service_options.customer_regions = *config.ParsedCustomerRegions();  // validated
  service_options.default_region = config.default_region;
  DeliveryService service(repository, log, ids, clock, service_options);

  // Configured couriers, as a librarian would add them (idempotent on every
  // replica and restart); then whatever waits for a courier is assigned.
  const Caller setup{"delivery", false, true};
  const std::vector<Courier> configured = *config.ParsedCouriers();  // validated
  for (const Courier& c : configured) {
    Courier courier = c;
    courier.request_id = "config";
    absl::StatusOr<Courier> added =
        service.AddCourier(courier, setup, {}, absl::Now() + config.max_wait);
    if (!added.ok()) {
      LogWarn("configured courier not recorded",
              {{"courier_id", c.courier_id}, {"error", added.status().ToString()}});
    }
  }
  if (absl::StatusOr<int> n = service.AssignPending("", {}, absl::Now() + config.max_wait);
      !n.ok()) {
    LogWarn("pending deliveries not assigned at start", {{"error", n.status().ToString()}});
  }

  RentalEventConsumer::Options consumer_options;
  consumer_options.stream_replicas = config.stream_replicas;
  consumer_options.max_wait = config.max_wait;
  consumer_options.backoff_initial = config.retry_initial;
  consumer_options.backoff_max = config.retry_max;
  absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> consumer =
      RentalEventConsumer::Start(js, service, consumer_options);
  if (!consumer.ok()) Fail("cannot start the RENTAL consumer", consumer.status());

  WorkPool pool(config.workers, static_cast<size_t>(config.max_inflight));
  absl::StatusOr<std::unique_ptr<CallerAuthenticator>> auth = CallerAuthenticatorFromFlags();
  absl::StatusOr<GrpcServerOptions> server_options = GrpcServerOptionsFromFlags();
  if (!auth.ok() || !server_options.ok()) {
    LogError("bad identity or TLS configuration",
             {{"error", (auth.ok() ? server_options.status() : auth.status()).ToString()}});
    return 2;
  }
  DeliveryGrpcService grpc_service(service, pool, config.max_wait, **auth);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      config.grpc_address, {&grpc_service}, telemetry.GrpcInterceptors(), *server_options);
  if (!server.ok()) Fail("cannot start the gRPC server", server.status());
  (*server)->SetServing(true);
  (*base)->SetReady(true);
  auto liveness = std::make_unique<telemetry::LivenessWatch>(
      telemetry::LivenessWatch::Options{config.liveness_pool_bound, config.liveness_follower_bound,
                                        absl::Seconds(1)},
      &telemetry.events());
  liveness->WatchWorkPool(pool, "grpc");
  liveness->WatchFollower(js, **follower, events::kDeliveryStream);
  liveness->WatchReadiness([b = base->get()] { return b->Readiness(); });
  liveness->Start(server->get());
  telemetry.WatchStateStore(**store);
  telemetry.WatchFollower(js, **follower, events::kDeliveryStream);
  telemetry.WatchConsumer(**consumer, RentalEventConsumer::kDurable);
  telemetry.WatchWorkPool(pool);
  std::vector<std::string> regions = {config.default_region};
  for (const auto& [customer, region] : service_options.customer_regions) regions.push_back(region);
  for (const Courier& c : configured) regions.push_back(c.region);
  std::sort(regions.begin(), regions.end());
  regions.erase(std::unique(regions.begin(), regions.end()), regions.end());
  WatchBacklog(telemetry.registry(), service, clock, regions);
  telemetry.SetRebuildProgress(1.0);
  const std::string host = config.grpc_address.substr(0, config.grpc_address.rfind(':'));
  LogInfo("listening", {{"addr", absl::StrCat(host, ":", (*server)->port())},
                        {"grpc_service", "rentmesh.delivery.v1.DeliveryService"},
                        {"applied", absl::StrCat((*follower)->applied())}});

  const int signal = WaitForTerminationSignal();
  LogInfo("shutting down", {{"signal", absl::StrCat(signal)}});
  telemetry.StopAdmin();
  (*base)->SetReady(false);
  liveness.reset();
  consumer->reset();  // No delivery created after this.
  (*server)->SetServing(false);
  (*server)->Shutdown(config.shutdown_grace);
  server->reset();
  return 0;
}

}  // namespace
}  // namespace rentmesh::delivery

int main(int argc, char** argv) {
  rentmesh::BlockTerminationSignals();
  rentmesh::SetLogService("delivery");
  absl::ParseCommandLine(argc, argv);
  // absl's lock-order graph (on in Debian's build) costs every Mutex lock
  // and destruction on the hot path; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  rentmesh::delivery::DeliveryConfig config = rentmesh::delivery::ConfigFromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) {
    rentmesh::LogError("bad configuration", {{"error", s.ToString()}});
    return 2;
  }
  return rentmesh::delivery::Run(config);
}
