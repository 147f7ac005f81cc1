#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/telemetry/service_telemetry.h"

namespace rentmesh::telemetry {

// Catches `follower` up with `stream` before a service serves, for as long as
// it takes: a long history must never make the process give up (a crash loop
// that starts the rebuild over each time). Every `flush_every` the state
// store is flushed, so that with the WAL off a crash resumes the rebuild from
// there; progress goes to the rebuild-progress gauge and the log. An error
// only when the store cannot be flushed.
absl::Status CatchUpDurably(nats::JetStream& js, const nats::StreamFollower& follower,
                            rocksdb_store::StateStore& store, ServiceTelemetry& telemetry,
                            const std::string& stream, absl::Duration flush_every);

}  // namespace rentmesh::telemetry
