#include "rentmesh/telemetry/snapshot_metrics.h"

#include <string>

namespace rentmesh::telemetry {

SnapshotMetrics::SnapshotMetrics(MetricsRegistry& registry)
    : restore_seconds_(registry
                           .AddGauge(kRestoreSeconds,
                                     "Seconds from opening the state store to caught up with the "
                                     "stream at the last start.")
                           .WithLabels({})),
      restore_source_(registry.AddGauge(
          kRestoreSource,
          "1 for how the last start got its state: local, snapshot (then the tail), replay.",
          {"source"})),
      rejected_(registry.AddCounter(
          kRestoreSnapshotRejectedTotal,
          "Snapshots found at start but not used (the whole stream was replayed), by reason.",
          {"reason"})),
      restore_position_(registry
                            .AddGauge(kRestorePosition,
                                      "Stream position the state was restored at (0: replayed "
                                      "from the start).")
                            .WithLabels({})),
      taken_(
          registry.AddCounter(kSnapshotsTakenTotal, "State snapshots published.").WithLabels({})),
      failed_(registry
                  .AddCounter(kSnapshotsFailedTotal,
                              "State snapshots that failed (NATS or the store refused).")
                  .WithLabels({})),
      skipped_(registry.AddCounter(
          kSnapshotsSkippedTotal,
          "Snapshots not taken: the newest one was recent enough, or another replica's landed "
          "first.",
          {"reason"})),
      last_position_(registry
                         .AddGauge(kSnapshotLastPosition,
                                   "Stream position of the last snapshot this replica took.")
                         .WithLabels({})),
      last_bytes_(
          registry.AddGauge(kSnapshotLastBytes, "Size of the last snapshot this replica took.")
              .WithLabels({})),
      last_seconds_(
          registry
              .AddGauge(kSnapshotLastSeconds, "Seconds the last snapshot this replica took lasted.")
              .WithLabels({})),
      last_timestamp_(registry
                          .AddGauge(kSnapshotLastTimestampSeconds,
                                    "Unix time of the last snapshot this replica took.")
                          .WithLabels({})) {}

void SnapshotMetrics::Restored(const snapshot::RestoreOutcome& outcome) {
  for (snapshot::RestoreSource s :
       {snapshot::RestoreSource::kLocal, snapshot::RestoreSource::kSnapshot,
        snapshot::RestoreSource::kReplay}) {
    restore_source_.WithLabels({std::string(snapshot::RestoreSourceName(s))})
        .Set(s == outcome.source ? 1 : 0);
  }
  if (outcome.source == snapshot::RestoreSource::kReplay && !outcome.reason.empty() &&
      outcome.reason != snapshot::kNoSnapshot) {
    rejected_.WithLabels({outcome.reason}).Increment();
  }
  restore_position_.Set(static_cast<double>(outcome.position));
}

void SnapshotMetrics::Taken(const snapshot::TakenSnapshot& taken) {
  taken_.Increment();
  last_position_.Set(static_cast<double>(taken.manifest.position));
  last_bytes_.Set(static_cast<double>(taken.manifest.bytes));
  last_seconds_.Set(absl::ToDoubleSeconds(taken.took));
  last_timestamp_.Set(
      absl::ToDoubleSeconds(taken.manifest.created_at + taken.took - absl::UnixEpoch()));
}

void SnapshotMetrics::Skipped(absl::string_view reason) {
  skipped_.WithLabels({std::string(reason)}).Increment();
}

void SnapshotMetrics::Failed(const absl::Status& /*error*/) { failed_.Increment(); }

}  // namespace rentmesh::telemetry
