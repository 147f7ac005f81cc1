#include "rentmesh/telemetry/durable_catch_up.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"

namespace rentmesh::telemetry {

absl::Status CatchUpDurably(nats::JetStream& js, const nats::StreamFollower& follower,
                            rocksdb_store::StateStore& store, ServiceTelemetry& telemetry,
                            const std::string& stream, absl::Duration flush_every) {
  const absl::Time started = absl::Now();
  for (;;) {
    absl::Status s = follower.CatchUp(absl::Now() + flush_every);
    if (s.ok()) break;
    if (absl::Status f = store.Flush(); !f.ok()) return f;
    absl::StatusOr<uint64_t> last = js.LastSequence(stream);
    const uint64_t applied = follower.applied();
    if (last.ok() && *last > 0) {
      telemetry.SetRebuildProgress(static_cast<double>(applied) / static_cast<double>(*last));
    }
    LogInfo("still catching up; progress stored",
            {{"stream", stream},
             {"applied", absl::StrCat(applied)},
             {"last", last.ok() ? absl::StrCat(*last) : "unknown"},
             {"why", s.ToString()}});
  }
  if (absl::Status f = store.Flush(); !f.ok()) return f;
  telemetry.SetRebuildProgress(1.0);
  LogInfo("caught up", {{"stream", stream},
                        {"applied", absl::StrCat(follower.applied())},
                        {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - started))}});
  return absl::OkStatus();
}

}  // namespace rentmesh::telemetry
