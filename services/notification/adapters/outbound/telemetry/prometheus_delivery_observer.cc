#include "adapters/outbound/telemetry/prometheus_delivery_observer.h"

namespace rentmesh::notification {

PrometheusDeliveryObserver::PrometheusDeliveryObserver(telemetry::MetricsRegistry& registry)
    : sent_(registry.AddCounter("rentmesh_notifications_sent_total",
                                "Notifications a channel took.", {"channel"})),
      failed_(registry.AddCounter("rentmesh_notifications_failed_total",
                                  "Notifications recorded as failed for good.", {"channel"})),
      retried_(registry.AddCounter("rentmesh_notifications_retried_total",
                                   "Failed attempts that will be tried again.", {"channel"})),
      duplicates_(registry.AddCounter(
          "rentmesh_notifications_duplicates_total",
          "Redelivered events whose notification was already recorded (not sent again).",
          {"channel"})) {}

void PrometheusDeliveryObserver::Sent(absl::string_view channel) {
  sent_.WithLabels({std::string_view(channel.data(), channel.size())}).Increment();
}
void PrometheusDeliveryObserver::Failed(absl::string_view channel) {
  failed_.WithLabels({std::string_view(channel.data(), channel.size())}).Increment();
}
void PrometheusDeliveryObserver::Retried(absl::string_view channel) {
  retried_.WithLabels({std::string_view(channel.data(), channel.size())}).Increment();
}
void PrometheusDeliveryObserver::Duplicate(absl::string_view channel) {
  duplicates_.WithLabels({std::string_view(channel.data(), channel.size())}).Increment();
}

}  // namespace rentmesh::notification
