#include "rentmesh/telemetry/snapshot_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rentmesh::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SnapshotMetricsTest, RecordsTheRestoreAndTheSnapshots) {
  MetricsRegistry registry;
  SnapshotMetrics metrics(registry);
  snapshot::RestoreOutcome replay;
  replay.source = snapshot::RestoreSource::kReplay;
  replay.reason = snapshot::kCorrupt;
  metrics.Restored(replay);
  snapshot::RestoreOutcome restored;
  restored.source = snapshot::RestoreSource::kSnapshot;
  restored.position = 1234;
  metrics.Restored(restored);
  metrics.SetRestoreSeconds(absl::Milliseconds(2500));
  snapshot::TakenSnapshot taken;
  taken.manifest.position = 2000;
  taken.manifest.bytes = 4096;
  taken.manifest.created_at = absl::FromUnixSeconds(1767225600);
  taken.took = absl::Seconds(1);
  metrics.Taken(taken);
  metrics.Skipped("recent");
  metrics.Failed(absl::UnavailableError("down"));

  const std::string text = registry.ExposeText();
  EXPECT_THAT(text, HasSubstr("\nrentmesh_restore_seconds 2.5\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_restore_source{source=\"snapshot\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_restore_source{source=\"replay\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_restore_source{source=\"local\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_restore_snapshot_rejected_total{reason=\"corrupt\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_restore_position 1234\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_snapshots_taken_total 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_snapshots_failed_total 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_snapshots_skipped_total{reason=\"recent\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_snapshot_last_position 2000\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_snapshot_last_bytes 4096\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_snapshot_last_timestamp_seconds 1767225601\n"));
  // No snapshot at all is not a rejected one.
  snapshot::RestoreOutcome none;
  none.reason = snapshot::kNoSnapshot;
  metrics.Restored(none);
  EXPECT_THAT(registry.ExposeText(), Not(HasSubstr("reason=\"none\"")));
}

}  // namespace
}  // namespace rentmesh::telemetry
