#include "rentmesh/telemetry/metric_names.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rentmesh::telemetry {
namespace {

using ::testing::HasSubstr;

TEST(EventMetricsTest, RegistersEveryEventFamilyWithTheDashboardLabels) {
  MetricsRegistry registry;
  EventMetrics events = EventMetrics::Register(registry);
  events.published.WithLabels({"RENTAL", "RentalCreated"}).Increment();
  events.consumed.WithLabels({"view-projection", "RentalCreated"}).Increment();
  events.redelivered.WithLabels({"payment-refunds"}).Increment();
  events.dead_lettered.WithLabels({"payment-refunds"}).Increment();
  events.consumer_lag.WithLabels({"view-projection"}).Set(12);
  events.pending_work.Set(3);
  events.rebuild_progress_ratio.Set(0.5);

  const std::string text = registry.ExposeText();
  EXPECT_THAT(
      text,
      HasSubstr("rentmesh_events_published_total{stream=\"RENTAL\",type=\"RentalCreated\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_events_consumed_total{consumer=\"view-projection\","
                              "type=\"RentalCreated\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("rentmesh_events_redelivered_total{consumer=\"payment-refunds\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("rentmesh_events_dead_lettered_total{consumer=\"payment-refunds\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_consumer_lag{consumer=\"view-projection\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_pending_work 3\n"));
  EXPECT_THAT(text, HasSubstr("\nrentmesh_rebuild_progress_ratio 0.5\n"));
}

TEST(EventMetricsTest, RegistersTheFamiliesOfLossFreeConsumersAndFullStores) {
  MetricsRegistry registry;
  EventMetrics events = EventMetrics::Register(registry);
  events.dead_letter_failures.WithLabels({"payment-reactions"}).Increment();
  events.ack_failures.WithLabels({"payment-reactions", "ack"}).Increment();
  events.untrusted.WithLabels({"payment-reactions"}).Increment();
  events.ineffective.WithLabels({"payment-reactions", "RentalCancelled"}).Increment();
  events.store_full.WithLabels({"payment"}).Set(1);
  events.liveness_stalled.WithLabels({"pool:grpc"}).Set(1);
  const std::string text = registry.ExposeText();
  EXPECT_THAT(text, HasSubstr("rentmesh_events_dead_letter_failures_total{consumer=\"payment-"
                              "reactions\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_events_ack_failures_total{consumer=\"payment-reactions\","
                              "op=\"ack\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_events_untrusted_total{consumer=\"payment-reactions\"} 1"));
  EXPECT_THAT(text, HasSubstr("rentmesh_events_ineffective_total{consumer=\"payment-reactions\","
                              "type=\"RentalCancelled\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_stream_store_full{scope=\"payment\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_liveness_stalled{part=\"pool:grpc\"} 1\n"));
}

TEST(EventMetricsTest, RegisteringTwiceSharesTheSameSeries) {
  MetricsRegistry registry;
  EventMetrics a = EventMetrics::Register(registry);
  EventMetrics b = EventMetrics::Register(registry);
  EXPECT_EQ(&a.pending_work, &b.pending_work);
}

TEST(RocksDbMetricsTest, GaugesAreLabelledByColumnFamily) {
  MetricsRegistry registry;
  RocksDbMetrics rocks = RocksDbMetrics::Register(registry);
  rocks.estimated_keys.WithLabels({"default"}).Set(100);
  rocks.live_sst_bytes.WithLabels({"default"}).Set(4096);
  const std::string text = registry.ExposeText();
  EXPECT_THAT(text, HasSubstr("rentmesh_rocksdb_estimated_keys{cf=\"default\"} 100\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_rocksdb_live_sst_bytes{cf=\"default\"} 4096\n"));
}

}  // namespace
}  // namespace rentmesh::telemetry
