#pragma once

#include <string_view>

#include "rentmesh/telemetry/metrics.h"

// The metric names every rentmesh service exposes. The Grafana dashboards and
// docs/observability.md read these exact names; change them together.
namespace rentmesh::telemetry {

// gRPC server side (recorded by GrpcMetricsInterceptorFactory).
inline constexpr std::string_view kGrpcServerHandledTotal = "rentmesh_grpc_server_handled_total";
inline constexpr std::string_view kGrpcServerHandlingSeconds =
    "rentmesh_grpc_server_handling_seconds";

// Event flow (recorded by the NATS adapters).
inline constexpr std::string_view kEventsPublishedTotal = "rentmesh_events_published_total";
inline constexpr std::string_view kEventsConsumedTotal = "rentmesh_events_consumed_total";
inline constexpr std::string_view kEventsRedeliveredTotal = "rentmesh_events_redelivered_total";
inline constexpr std::string_view kEventsDeadLetteredTotal = "rentmesh_events_dead_lettered_total";
inline constexpr std::string_view kEventsDeadLetterFailuresTotal =
    "rentmesh_events_dead_letter_failures_total";
inline constexpr std::string_view kEventsAckFailuresTotal = "rentmesh_events_ack_failures_total";
inline constexpr std::string_view kEventsUntrustedTotal = "rentmesh_events_untrusted_total";
inline constexpr std::string_view kEventsIneffectiveTotal = "rentmesh_events_ineffective_total";
inline constexpr std::string_view kEventsDivergedTotal = "rentmesh_events_diverged_total";
inline constexpr std::string_view kStreamStoreFull = "rentmesh_stream_store_full";
inline constexpr std::string_view kStreamStoreFullTotal = "rentmesh_stream_store_full_total";
inline constexpr std::string_view kLivenessStalled = "rentmesh_liveness_stalled";
inline constexpr std::string_view kConsumerLag = "rentmesh_consumer_lag";
inline constexpr std::string_view kPendingWork = "rentmesh_pending_work";
inline constexpr std::string_view kRebuildProgressRatio = "rentmesh_rebuild_progress_ratio";
// 1 while the process's NATS connection is up, 0 while it is down
// (reconnecting); refreshed at scrape time (ServiceTelemetry::WatchNats).
inline constexpr std::string_view kNatsConnected = "rentmesh_nats_connected";

// Dependencies and sagas of one service (refreshed at scrape time).
// {target}: 1 while no circuit breaker towards that dependency is closed
// (every endpoint open or half-open: calls to it fail at once or only probe).
inline constexpr std::string_view kCircuitOpen = "rentmesh_circuit_open";
// rental: reservations awaiting their payment outcome (PENDING_PAYMENT).
inline constexpr std::string_view kRentalPendingReservations =
    "rentmesh_rental_pending_reservations";
// rental: of those, the ones older than --reconcile_after_ms (the request that
// made them gave up; the reconciler should have settled them).
inline constexpr std::string_view kRentalStaleReservations = "rentmesh_rental_stale_reservations";
// delivery {region}: deliveries waiting for a courier (REQUESTED), and how
// long the oldest of them has waited. A region without a courier shows it.
inline constexpr std::string_view kDeliveryAwaitingCourier = "rentmesh_delivery_awaiting_courier";
inline constexpr std::string_view kDeliveryAwaitingCourierOldestSeconds =
    "rentmesh_delivery_awaiting_courier_oldest_seconds";

// RocksDB state store (refreshed at scrape time via MetricsRegistry::OnCollect).
inline constexpr std::string_view kRocksDbEstimatedKeys = "rentmesh_rocksdb_estimated_keys";
inline constexpr std::string_view kRocksDbLiveSstBytes = "rentmesh_rocksdb_live_sst_bytes";
inline constexpr std::string_view kRocksDbMemtableBytes = "rentmesh_rocksdb_memtable_bytes";
inline constexpr std::string_view kRocksDbPendingCompactionBytes =
    "rentmesh_rocksdb_pending_compaction_bytes";
inline constexpr std::string_view kRocksDbBlockCacheBytes = "rentmesh_rocksdb_block_cache_bytes";

// Start-up restore and state snapshots (libs/snapshot; SnapshotMetrics).
// Seconds from opening the state store to caught up with the stream at the
// last start (loading a snapshot, if any, plus replaying what follows it).
inline constexpr std::string_view kRestoreSeconds = "rentmesh_restore_seconds";
// {source}: 1 for how the last start got its state: "local" (the store kept
// it), "snapshot" (loaded, then the tail replayed), "replay" (whole stream).
inline constexpr std::string_view kRestoreSource = "rentmesh_restore_source";
// {reason}: snapshots found at start but not used (unknown_format, corrupt,
// missing_chunk, stale, ...): the replica replayed the whole stream.
inline constexpr std::string_view kRestoreSnapshotRejectedTotal =
    "rentmesh_restore_snapshot_rejected_total";
// The stream position the state was restored at (0 for a full replay).
inline constexpr std::string_view kRestorePosition = "rentmesh_restore_position";
inline constexpr std::string_view kSnapshotsTakenTotal = "rentmesh_snapshots_taken_total";
inline constexpr std::string_view kSnapshotsFailedTotal = "rentmesh_snapshots_failed_total";
// {reason}: "recent" (the newest snapshot is recent enough), "lost_race".
inline constexpr std::string_view kSnapshotsSkippedTotal = "rentmesh_snapshots_skipped_total";
// Of the last snapshot this replica took: position, size, duration, time.
inline constexpr std::string_view kSnapshotLastPosition = "rentmesh_snapshot_last_position";
inline constexpr std::string_view kSnapshotLastBytes = "rentmesh_snapshot_last_bytes";
inline constexpr std::string_view kSnapshotLastSeconds = "rentmesh_snapshot_last_seconds";
inline constexpr std::string_view kSnapshotLastTimestampSeconds =
    "rentmesh_snapshot_last_timestamp_seconds";

// The event-flow families of one service, registered in one place so that the
// label names match the dashboards. Hold it by value next to the registry; its
// references point into the registry.
struct EventMetrics {
  // {stream, type}: stream is the JetStream stream (RENTAL, PAYMENT, ...),
  // type the event type (RentalCreated, ...).
  CounterFamily& published;
  // {consumer, type}: consumer is the durable name.
  CounterFamily& consumed;
  // {consumer}: deliveries with NumDelivered > 1.
  CounterFamily& redelivered;
  // {consumer}: messages moved to DEADLETTER after the redelivery bound.
  CounterFamily& dead_lettered;
  // {consumer}: dead letters that could not be stored (the message is kept and retried).
  CounterFamily& dead_letter_failures;
  // {consumer, op}: Ack/Nak/Term/InProgress the server did not take.
  CounterFamily& ack_failures;
  // {consumer}: messages set aside as not ours (garbage, unknown, foreign producer).
  CounterFamily& untrusted;
  // {consumer, type}: events acknowledged without effect (did not apply to the aggregate).
  CounterFamily& ineffective;
  // {consumer}: delivered messages the stream leader holds otherwise (a
  // diverged replica served them); the leader's were used instead.
  CounterFamily& diverged;
  // {scope}: 1 while publishes to "<scope>.>" are refused for a full store.
  GaugeFamily& store_full;
  // {scope}: publishes refused for a full store (first refusal of each episode).
  CounterFamily& store_full_total;
  // {part}: 1 while that part is wedged (liveness NOT_SERVING).
  GaugeFamily& liveness_stalled;
  // {consumer}: messages the consumer has not yet acknowledged (NumPending + NumAckPending).
  GaugeFamily& consumer_lag;
  // Work accepted but not finished (saga steps, outbox entries).
  Gauge& pending_work;
  // 0..1 while rebuilding RocksDB state from JetStream; 1 once caught up.
  Gauge& rebuild_progress_ratio;

  static EventMetrics Register(MetricsRegistry& registry);
};

// RocksDB gauges, labelled {cf} (column family).
struct RocksDbMetrics {
  GaugeFamily& estimated_keys;
  GaugeFamily& live_sst_bytes;
  GaugeFamily& memtable_bytes;
  GaugeFamily& pending_compaction_bytes;
  GaugeFamily& block_cache_bytes;

  static RocksDbMetrics Register(MetricsRegistry& registry);
};

}  // namespace rentmesh::telemetry
