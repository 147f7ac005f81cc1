#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/admin_server.h"
#include "rentmesh/telemetry/grpc_metrics_interceptor.h"
#include "rentmesh/telemetry/metric_names.h"
#include "rentmesh/telemetry/metrics.h"

namespace rentmesh::telemetry {

// The operational surface of one service binary, in one place so every main
// wires it the same way: the metrics registry, the admin HTTP server
// (/metrics, /healthz), the gRPC RED interceptors, the event-flow metrics fed
// by JetStream (FlowObserver), and scrape-time gauges for the parts it is told
// to watch. Everything watched must outlive this object.
class ServiceTelemetry final : public nats::FlowObserver {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceTelemetry>> Start(
      const std::string& admin_address, AdminServer::HealthFn health,
      std::vector<AdminServer::Route> routes = {});

  MetricsRegistry& registry() { return *registry_; }
  GrpcServer::Interceptors GrpcInterceptors() { return MakeGrpcServerInterceptors(*registry_); }
  int admin_port() const { return admin_->port(); }
  // Stops serving /metrics and /healthz. Call first when shutting down: the
  // scrape-time callbacks read parts that are about to go away. The registry
  // and the FlowObserver stay usable.
  void StopAdmin();

  // Scrape-time figures of the parts of a service.
  void WatchStateStore(const rocksdb_store::StateStore& store);
  // Lag of a projection: the stream's last sequence minus what it applied.
  void WatchFollower(nats::JetStream& js, const nats::StreamFollower& follower,
                     const std::string& stream);
  // Messages a durable consumer has not handled yet.
  void WatchConsumer(const nats::DurableConsumer& consumer, const std::string& durable);
  void WatchWorkPool(const WorkPool& pool);
  // rentmesh_nats_connected: 1 while the connection to NATS is up. While it
  // is down, the watched followers and consumers are not asked for their lag
  // (it keeps its last value), so that a scrape does not wait on NATS.
  void WatchNats(const nats::JetStream& js);
  // 0..1 while catching up at start; 1 once caught up.
  void SetRebuildProgress(double ratio) { events_.rebuild_progress_ratio.Set(ratio); }

  // nats::FlowObserver
  void Published(absl::string_view stream, absl::string_view event_type) override;
  void Consumed(absl::string_view consumer, absl::string_view event_type) override;
  void Redelivered(absl::string_view consumer) override;
  void DeadLettered(absl::string_view consumer) override;
  void DeadLetterFailed(absl::string_view consumer) override;
  void AckFailed(absl::string_view consumer, absl::string_view op) override;
  void StoreFull(absl::string_view scope, bool full) override;
  void Untrusted(absl::string_view consumer) override;
  void Ineffective(absl::string_view consumer, absl::string_view event_type) override;
  void Diverged(absl::string_view consumer, uint64_t messages) override;

  EventMetrics& events() { return events_; }

 private:
  ServiceTelemetry(std::unique_ptr<MetricsRegistry> registry)
      : registry_(std::move(registry)),
        events_(EventMetrics::Register(*registry_)),
        rocksdb_(RocksDbMetrics::Register(*registry_)) {}

  std::unique_ptr<MetricsRegistry> registry_;
  EventMetrics events_;
  RocksDbMetrics rocksdb_;
  std::unique_ptr<AdminServer> admin_;
  const nats::JetStream* nats_ = nullptr;  // WatchNats
};

}  // namespace rentmesh::telemetry
