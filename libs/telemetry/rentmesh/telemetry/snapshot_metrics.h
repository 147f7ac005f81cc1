#pragma once

#include "absl/time/time.h"
#include "rentmesh/snapshot/snapshot_scheduler.h"
#include "rentmesh/telemetry/metric_names.h"
#include "rentmesh/telemetry/metrics.h"

namespace rentmesh::telemetry {

// The restore and snapshot metrics of a service that snapshots its state
// (rentmesh_restore_*, rentmesh_snapshot*_*; metric_names.h).
class SnapshotMetrics final : public snapshot::SnapshotObserver {
 public:
  explicit SnapshotMetrics(MetricsRegistry& registry);

  // Once caught up at start: the whole time to ready.
  void SetRestoreSeconds(absl::Duration took) { restore_seconds_.Set(absl::ToDoubleSeconds(took)); }

  // snapshot::SnapshotObserver
  void Restored(const snapshot::RestoreOutcome& outcome) override;
  void Taken(const snapshot::TakenSnapshot& taken) override;
  void Skipped(absl::string_view reason) override;
  void Failed(const absl::Status& error) override;

 private:
  Gauge& restore_seconds_;
  GaugeFamily& restore_source_;
  CounterFamily& rejected_;
  Gauge& restore_position_;
  Counter& taken_;
  Counter& failed_;
  CounterFamily& skipped_;
  Gauge& last_position_;
  Gauge& last_bytes_;
  Gauge& last_seconds_;
  Gauge& last_timestamp_;
};

}  // namespace rentmesh::telemetry
