#include "rentmesh/telemetry/metrics.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rentmesh::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsRegistryTest, CounterWithLabelsIsExposedWithHelpAndType) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("rentmesh_things_total", "Things seen.", {"kind"});
  family.WithLabels({"book"}).Increment();
  family.WithLabels({"book"}).Increment(2);
  family.WithLabels({"card"}).Increment();

  EXPECT_EQ(registry.ExposeText(),
            "# HELP rentmesh_things_total Things seen.\n"
            "# TYPE rentmesh_things_total counter\n"
            "rentmesh_things_total{kind=\"book\"} 3\n"
            "rentmesh_things_total{kind=\"card\"} 1\n");
}

TEST(MetricsRegistryTest, CounterIgnoresNegativeAndNanIncrements) {
  Counter counter;
  counter.Increment(5);
  counter.Increment(-1);
  counter.Increment(std::nan(""));
  EXPECT_EQ(counter.Value(), 5);
}

TEST(MetricsRegistryTest, GaugeWithoutLabelsIsExposedWithoutBraces) {
  MetricsRegistry registry;
  Gauge& gauge = registry.AddGauge("rentmesh_pending_work", "Pending.").WithLabels({});
  gauge.Set(7);
  gauge.Add(-2.5);
  EXPECT_THAT(registry.ExposeText(), HasSubstr("\nrentmesh_pending_work 4.5\n"));
}

TEST(MetricsRegistryTest, FamiliesAreSortedByName) {
  MetricsRegistry registry;
  registry.AddGauge("b_metric", "b").WithLabels({}).Set(1);
  registry.AddGauge("a_metric", "a").WithLabels({}).Set(1);
  const std::string text = registry.ExposeText();
  EXPECT_LT(text.find("a_metric"), text.find("b_metric"));
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  HistogramFamily& family =
      registry.AddHistogram("rentmesh_latency_seconds", "Latency.", {"method"}, {0.1, 1});
  Histogram& h = family.WithLabels({"Pay"});
  h.Observe(0.05);
  h.Observe(0.1);  // on the bound: counts in le="0.1"
  h.Observe(0.5);
  h.Observe(3);

  const std::string text = registry.ExposeText();
  EXPECT_THAT(text, HasSubstr("# TYPE rentmesh_latency_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_latency_seconds_bucket{method=\"Pay\",le=\"0.1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_latency_seconds_bucket{method=\"Pay\",le=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_latency_seconds_bucket{method=\"Pay\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_latency_seconds_sum{method=\"Pay\"} 3.65\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_latency_seconds_count{method=\"Pay\"} 4\n"));
}

TEST(MetricsRegistryTest, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("rentmesh_escaped_total", "line one\nback\\slash", {"v"})
      .WithLabels({"a\"b\\c\nd"})
      .Increment();
  const std::string text = registry.ExposeText();
  EXPECT_THAT(text, HasSubstr("# HELP rentmesh_escaped_total line one\\nback\\\\slash\n"));
  EXPECT_THAT(text, HasSubstr("rentmesh_escaped_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsRegistryTest, RegisteringTheSameShapeTwiceReturnsTheSameFamily) {
  MetricsRegistry registry;
  CounterFamily& a = registry.AddCounter("rentmesh_x_total", "x", {"l"});
  CounterFamily& b = registry.AddCounter("rentmesh_x_total", "x", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
}

TEST(MetricsRegistryDeathTest, RegisteringANameWithAnotherTypeAborts) {
  MetricsRegistry registry;
  registry.AddCounter("rentmesh_x_total", "x");
  EXPECT_DEATH(registry.AddGauge("rentmesh_x_total", "x"), "different shapes");
}

TEST(MetricsRegistryDeathTest, InvalidNamesAbort) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddCounter("9starts_with_digit", "x"), "invalid metric name");
  EXPECT_DEATH(registry.AddCounter("ok_name", "x", {"le"}), "invalid label name");
  EXPECT_DEATH(registry.AddCounter("ok_name2", "x", {"has-dash"}), "invalid label name");
}

TEST(MetricsRegistryDeathTest, WrongNumberOfLabelValuesAborts) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("rentmesh_y_total", "y", {"a", "b"});
  EXPECT_DEATH(family.WithLabels({"only-one"}), "expected 2 label values");
}

TEST(MetricsRegistryDeathTest, UnsortedHistogramBoundsAbort) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddHistogram("rentmesh_h", "h", {}, {1, 0.5}), "strictly increasing");
}

TEST(MetricsRegistryTest, OnCollectRunsBeforeEveryExposition) {
  MetricsRegistry registry;
  Gauge& gauge = registry.AddGauge("rentmesh_rocksdb_estimated_keys", "keys").WithLabels({});
  int calls = 0;
  registry.OnCollect([&] { gauge.Set(++calls * 10); });
  EXPECT_THAT(registry.ExposeText(), HasSubstr("rentmesh_rocksdb_estimated_keys 10\n"));
  EXPECT_THAT(registry.ExposeText(), HasSubstr("rentmesh_rocksdb_estimated_keys 20\n"));
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  CounterFamily& counters = registry.AddCounter("rentmesh_c_total", "c", {"t"});
  HistogramFamily& histograms = registry.AddHistogram("rentmesh_h_seconds", "h", {"t"}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counters.WithLabels({t % 2 == 0 ? "even" : "odd"}).Increment();
        histograms.WithLabels({"all"}).Observe(i % 2 == 0 ? 0.1 : 1.0);
        if (i % 1000 == 0) registry.ExposeText();  // scrapes race with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counters.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(counters.WithLabels({"odd"}).Value(), kThreads / 2 * kPerThread);
  const Histogram::Snapshot s = histograms.WithLabels({"all"}).Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative_counts[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
  EXPECT_NEAR(s.sum, kThreads * kPerThread / 2 * 1.1, 1e-3);
}

TEST(FormatSampleValueTest, UsesPrometheusSpellingsAndShortestRoundTrip) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(0.0025), "0.0025");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_THAT(FormatSampleValue(1e300), Not(HasSubstr(" ")));
}

}  // namespace
}  // namespace rentmesh::telemetry
