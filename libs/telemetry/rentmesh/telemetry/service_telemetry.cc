#include "rentmesh/telemetry/service_telemetry.h"

namespace rentmesh::telemetry {
namespace {

std::string_view View(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace

void ServiceTelemetry::StopAdmin() { admin_.reset(); }

absl::StatusOr<std::unique_ptr<ServiceTelemetry>> ServiceTelemetry::Start(
    const std::string& admin_address, AdminServer::HealthFn health,
    std::vector<AdminServer::Route> routes) {
  std::unique_ptr<ServiceTelemetry> t(new ServiceTelemetry(std::make_unique<MetricsRegistry>()));
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      AdminServer::Start(admin_address, *t->registry_, std::move(health), std::move(routes));
  if (!admin.ok()) return admin.status();
  t->admin_ = std::move(*admin);
  return t;
}

void ServiceTelemetry::WatchStateStore(const rocksdb_store::StateStore& store) {
  registry_->OnCollect([this, &store] {
    auto set = [&store](GaugeFamily& family, const char* property) {
      family.WithLabels({"default"}).Set(static_cast<double>(store.IntProperty(property)));
    };
    set(rocksdb_.estimated_keys, "rocksdb.estimate-num-keys");
    set(rocksdb_.live_sst_bytes, "rocksdb.live-sst-files-size");
    set(rocksdb_.memtable_bytes, "rocksdb.cur-size-all-mem-tables");
    set(rocksdb_.pending_compaction_bytes, "rocksdb.estimate-pending-compaction-bytes");
    set(rocksdb_.block_cache_bytes, "rocksdb.block-cache-usage");
  });
}

void ServiceTelemetry::WatchFollower(nats::JetStream& js, const nats::StreamFollower& follower,
                                     const std::string& stream) {
  registry_->OnCollect([this, &js, &follower, stream] {
    // Not asked while disconnected: the request would wait for its timeout
    // and hold up the scrape (the gauge keeps its last value meanwhile).
    if (!js.Connected()) return;
    absl::StatusOr<uint64_t> last = js.LastSequence(stream);
    if (!last.ok()) return;
    uint64_t applied = follower.applied();
    events_.consumer_lag.WithLabels({stream + "-follower"})
        .Set(static_cast<double>(*last > applied ? *last - applied : 0));
  });
}

void ServiceTelemetry::WatchConsumer(const nats::DurableConsumer& consumer,
                                     const std::string& durable) {
  registry_->OnCollect([this, &consumer, durable] {
    if (nats_ != nullptr && !nats_->Connected()) return;  // as in WatchFollower
    absl::StatusOr<uint64_t> pending = consumer.Pending();
    if (pending.ok()) events_.consumer_lag.WithLabels({durable}).Set(static_cast<double>(*pending));
  });
}

void ServiceTelemetry::WatchWorkPool(const WorkPool& pool) {
  registry_->OnCollect(
      [this, &pool] { events_.pending_work.Set(static_cast<double>(pool.InFlight())); });
}

void ServiceTelemetry::WatchNats(const nats::JetStream& js) {
  nats_ = &js;
  Gauge& connected =
      registry_
          ->AddGauge(kNatsConnected, "1 while the connection to NATS is up, 0 while reconnecting.")
          .WithLabels({});
  registry_->OnCollect([&connected, &js] { connected.Set(js.Connected() ? 1 : 0); });
}

void ServiceTelemetry::Published(absl::string_view stream, absl::string_view event_type) {
  events_.published.WithLabels({View(stream), View(event_type)}).Increment();
}

void ServiceTelemetry::Consumed(absl::string_view consumer, absl::string_view event_type) {
  events_.consumed.WithLabels({View(consumer), View(event_type)}).Increment();
}

void ServiceTelemetry::Redelivered(absl::string_view consumer) {
  events_.redelivered.WithLabels({View(consumer)}).Increment();
}

void ServiceTelemetry::DeadLettered(absl::string_view consumer) {
  events_.dead_lettered.WithLabels({View(consumer)}).Increment();
}

void ServiceTelemetry::DeadLetterFailed(absl::string_view consumer) {
  events_.dead_letter_failures.WithLabels({View(consumer)}).Increment();
}

void ServiceTelemetry::AckFailed(absl::string_view consumer, absl::string_view op) {
  events_.ack_failures.WithLabels({View(consumer), View(op)}).Increment();
}

void ServiceTelemetry::StoreFull(absl::string_view scope, bool full) {
  events_.store_full.WithLabels({View(scope)}).Set(full ? 1 : 0);
  if (full) events_.store_full_total.WithLabels({View(scope)}).Increment();
}

void ServiceTelemetry::Untrusted(absl::string_view consumer) {
  events_.untrusted.WithLabels({View(consumer)}).Increment();
}

void ServiceTelemetry::Ineffective(absl::string_view consumer, absl::string_view event_type) {
  events_.ineffective.WithLabels({View(consumer), View(event_type)}).Increment();
}

void ServiceTelemetry::Diverged(absl::string_view consumer, uint64_t messages) {
  events_.diverged.WithLabels({View(consumer)}).Increment(static_cast<double>(messages));
}

}  // namespace rentmesh::telemetry
