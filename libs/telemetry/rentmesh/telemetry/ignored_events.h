#pragma once

#include <functional>
#include <string_view>

#include "absl/strings/string_view.h"
#include "rentmesh/telemetry/metrics.h"

namespace rentmesh::telemetry {

// Counts the stream messages a projection sets aside: events that do not
// apply to the aggregate as folded so far, and messages that are not our
// events. `rentmesh_events_ignored_total{stream,event_type,reason}`.
using IgnoredEventFn = std::function<void(absl::string_view stream, absl::string_view event_type,
                                          absl::string_view reason)>;

inline IgnoredEventFn IgnoredEventsCounter(MetricsRegistry& registry) {
  CounterFamily& family = registry.AddCounter(
      "rentmesh_events_ignored_total",
      "Stream messages a projection set aside (they change nothing): events that do not apply "
      "to the aggregate's state, and messages that are not our events",
      {"stream", "event_type", "reason"});
  return [&family](absl::string_view stream, absl::string_view type, absl::string_view reason) {
    auto sv = [](absl::string_view s) { return std::string_view(s.data(), s.size()); };
    family.WithLabels({sv(stream), sv(type), sv(reason)}).Increment();
  };
}

}  // namespace rentmesh::telemetry
