#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rentmesh/common/grpc_server.h"
#include "rentmesh/common/work_pool.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"
#include "rentmesh/telemetry/metric_names.h"

namespace rentmesh::telemetry {

// Decides whether the process is wedged, for the "liveness" health entry, so a
// stuck process gets restarted while a merely disconnected one does not:
//   a work pool is wedged when its oldest queued task has waited longer than
//   `pool_bound` (the threads are all stuck);
//   a follower is wedged when its stream holds messages past what it applied
//   and it applied nothing for `follower_bound`. When the stream cannot be
//   asked (NATS down) the follower is not judged: an outage is not a wedge.
// Usage (any main): build it, Watch* the parts, then Start(&grpc_server).
// Everything watched must outlive it.
class LivenessWatch {
 public:
  struct Options {
    absl::Duration pool_bound = absl::Seconds(30);
    absl::Duration follower_bound = absl::Seconds(60);
    absl::Duration check_every = absl::Seconds(5);
  };

  // `metrics` may be null; else `rentmesh_liveness_stalled{part}` is kept.
  explicit LivenessWatch(Options options, EventMetrics* metrics = nullptr)
      : options_(options), metrics_(metrics) {}
  ~LivenessWatch();
  LivenessWatch(const LivenessWatch&) = delete;
  LivenessWatch& operator=(const LivenessWatch&) = delete;

  void WatchWorkPool(const WorkPool& pool, std::string name);
  void WatchFollower(nats::JetStream& js, const nats::StreamFollower& follower, std::string stream);

  // Readiness besides liveness: each check also sets the server's readiness
  // ("" entry) to `ready().ok()` (e.g. caught up and the store not full).
  void WatchReadiness(std::function<absl::Status()> ready);

  // OK, or UNAVAILABLE naming what is wedged. Call it now and then (Start
  // does): a follower's stall is measured between calls.
  absl::Status Check();
  // The last Check's verdict.
  absl::Status Last() const;

  // Checks every `check_every` on its own thread and sets `server`'s liveness
  // (may be null: only Last() and the metric are kept).
  void Start(GrpcServer* server);

 private:
  struct Pool {
    const WorkPool* pool;
    std::string name;
  };
  struct Follower {
    nats::JetStream* js;
    const nats::StreamFollower* follower;
    std::string stream;
    uint64_t applied = 0;
    absl::Time since = absl::InfinitePast();
  };

  const Options options_;
  EventMetrics* const metrics_;
  mutable absl::Mutex mu_;
  std::vector<Pool> pools_ ABSL_GUARDED_BY(mu_);
  std::vector<Follower> followers_ ABSL_GUARDED_BY(mu_);
  absl::Status last_ ABSL_GUARDED_BY(mu_);
  std::function<absl::Status()> ready_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rentmesh::telemetry
