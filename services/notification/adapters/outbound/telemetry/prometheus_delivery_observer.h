#pragma once

#include "core/ports/delivery_observer.h"
#include "rentmesh/telemetry/metrics.h"

namespace rentmesh::notification {

// Deliveries as Prometheus counters, each labelled {channel}:
//   rentmesh_notifications_sent_total        the channel took the message
//   rentmesh_notifications_failed_total      recorded as failed for good
//   rentmesh_notifications_retried_total     an attempt failed; tried again later
//   rentmesh_notifications_duplicates_total  redelivered, already recorded: not sent again
// Lag is the shared rentmesh_consumer_lag{consumer} of each durable.
class PrometheusDeliveryObserver final : public DeliveryObserver {
 public:
  explicit PrometheusDeliveryObserver(telemetry::MetricsRegistry& registry);

  // DeliveryObserver
  void Sent(absl::string_view channel) override;
  void Failed(absl::string_view channel) override;
  void Retried(absl::string_view channel) override;
  void Duplicate(absl::string_view channel) override;

 private:
  telemetry::CounterFamily& sent_;
  telemetry::CounterFamily& failed_;
  telemetry::CounterFamily& retried_;
  telemetry::CounterFamily& duplicates_;
};

}  // namespace rentmesh::notification
