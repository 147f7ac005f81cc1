#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::nats {

// Follows a whole stream in order, from a stored position, for a projection
// that this replica holds by itself (each replica follows on its own: nothing
// is shared or acknowledged). Built on an ordered consumer, which NATS.c
// re-creates on any gap, so messages arrive exactly in stream order.
//
// Messages are handed over in batches (a batch ends when nothing more is
// pending or `max_batch` is reached); the handler must make the batch and the
// last sequence durable together (one RocksDB write batch), so after a crash
// the follower resumes right after what was stored.
class StreamFollower {
 public:
  using BatchHandler = std::function<absl::Status(const std::vector<StreamMessage>& batch)>;

  struct Options {
    std::string stream;
    // Subjects to follow, e.g. "rental.>".
    std::string subject;
    // Last sequence already applied (0: start from the beginning).
    uint64_t applied = 0;
    size_t max_batch = 1024;
    // Copy every header into StreamMessage::headers. A projection that needs
    // only the body turns it off (the event type is always copied): it saves
    // allocations per message on the hot path of a rebuild.
    bool all_headers = true;
  };

  // A handler error means the local store cannot be written: the process logs
  // it and aborts (the state is rebuildable; a supervisor restarts it).
  static absl::StatusOr<std::unique_ptr<StreamFollower>> Start(JetStream& js, Options options,
                                                               BatchHandler handler);
  ~StreamFollower();
  StreamFollower(const StreamFollower&) = delete;
  StreamFollower& operator=(const StreamFollower&) = delete;

  uint64_t applied() const;
  // Waits until `sequence` is applied. DEADLINE_EXCEEDED when it is not by
  // `deadline`.
  absl::Status WaitApplied(uint64_t sequence, absl::Time deadline) const;
  // Waits until everything the stream holds now is applied: how a replica
  // catches up before it answers NOT_FOUND or decides on stale state.
  absl::Status CatchUp(absl::Time deadline) const;

 private:
  StreamFollower(JetStream& js, Options options, BatchHandler handler)
      : js_(js),
        options_(std::move(options)),
        handler_(std::move(handler)),
        applied_(options_.applied) {}
  static void OnMessage(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  static void OnComplete(void* closure);
  void Flush();

  JetStream& js_;
  const Options options_;
  const BatchHandler handler_;
  natsSubscription* sub_ = nullptr;
  // Set when stopping: callbacks still queued drop their message. NATS.c
  // may still be inside a callback after Unsubscribe returns; `done_` is
  // notified once the last one returned, and only then is this destroyed.
  std::atomic<bool> stopping_{false};
  absl::Notification done_;
  // Touched only by the subscription's delivery thread.
  std::vector<StreamMessage> batch_;
  mutable absl::Mutex mu_;
  uint64_t applied_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rentmesh::nats
