#include "rentmesh/telemetry/metric_names.h"

namespace rentmesh::telemetry {

EventMetrics EventMetrics::Register(MetricsRegistry& registry) {
  return EventMetrics{
      registry.AddCounter(kEventsPublishedTotal,
                          "Events appended to JetStream, by stream and type.", {"stream", "type"}),
      registry.AddCounter(kEventsConsumedTotal,
                          "Events handled and acknowledged, by durable consumer and type.",
                          {"consumer", "type"}),
      registry.AddCounter(kEventsRedeliveredTotal,
                          "Deliveries that were not the first for their message.", {"consumer"}),
      registry.AddCounter(kEventsDeadLetteredTotal,
                          "Messages moved to the DEADLETTER stream after the redelivery bound.",
                          {"consumer"}),
      registry.AddCounter(kEventsDeadLetterFailuresTotal,
                          "Dead letters that could not be stored; the message is kept and retried.",
                          {"consumer"}),
      registry.AddCounter(kEventsAckFailuresTotal,
                          "Ack/Nak/Term/InProgress not taken by the server, by consumer and op.",
                          {"consumer", "op"}),
      registry.AddCounter(kEventsUntrustedTotal,
                          "Messages set aside as not ours (garbage, unknown, foreign producer).",
                          {"consumer"}),
      registry.AddCounter(kEventsIneffectiveTotal,
                          "Events acknowledged without effect: they did not apply to the "
                          "aggregate's state.",
                          {"consumer", "type"}),
      registry.AddCounter(kEventsDivergedTotal,
                          "Delivered messages that the stream leader holds otherwise (served by a "
                          "diverged replica); the leader's were used instead.",
                          {"consumer"}),
      registry.AddGauge(kStreamStoreFull,
                        "1 while publishes to the subject scope are refused for a full store.",
                        {"scope"}),
      registry.AddCounter(kStreamStoreFullTotal,
                          "Times publishes to the subject scope started being refused for a full "
                          "store.",
                          {"scope"}),
      registry.AddGauge(kLivenessStalled, "1 while that part of the process is wedged.", {"part"}),
      registry.AddGauge(kConsumerLag, "Messages not yet acknowledged by the durable consumer.",
                        {"consumer"}),
      registry.AddGauge(kPendingWork, "Accepted work not yet finished (saga steps, outbox).")
          .WithLabels({}),
      registry
          .AddGauge(kRebuildProgressRatio,
                    "Progress of rebuilding local state from JetStream, 0..1; 1 when caught up.")
          .WithLabels({}),
  };
}

RocksDbMetrics RocksDbMetrics::Register(MetricsRegistry& registry) {
  return RocksDbMetrics{
      registry.AddGauge(kRocksDbEstimatedKeys, "rocksdb.estimate-num-keys", {"cf"}),
      registry.AddGauge(kRocksDbLiveSstBytes, "rocksdb.live-sst-files-size", {"cf"}),
      registry.AddGauge(kRocksDbMemtableBytes, "rocksdb.cur-size-all-mem-tables", {"cf"}),
      registry.AddGauge(kRocksDbPendingCompactionBytes, "rocksdb.estimate-pending-compaction-bytes",
                        {"cf"}),
      registry.AddGauge(kRocksDbBlockCacheBytes, "rocksdb.block-cache-usage", {"cf"}),
  };
}

}  // namespace rentmesh::telemetry
