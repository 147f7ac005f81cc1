#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
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
// re-creates on a gap it sees. That is not relied on: on a JetStream cluster
// an ordered consumer was seen to skip a stretch of the stream around a
// partition, and to stall short of the stream's end (docs/chaos.md). So the
// follower checks the stream sequences itself: a message whose sequence is
// not the next one is preceded by the missing ones, read by sequence (a
// message that cannot be read yet is not applied out of order: it is read
// again later), duplicates are dropped, and CatchUp reads a stalled tail.
// The handler therefore sees every message of the stream exactly once and in
// order; `subject` must cover the whole stream.
//
// Nor is the delivering server trusted to hold the stream's history: an
// ordered consumer reads the store of the server it lives on, and on a
// cluster of nats-server 2.9.10 a replica was seen to keep another history
// than its peers after a partition healed (docs/cluster.md case 7). So before
// a batch is applied, its last delivered message is compared with what the
// stream leader holds at that sequence (a message get, which only the leader
// answers); on a difference the batch is read again from the leader, message
// by message, and counted (`replaced_from_leader`), and from then on every
// message is read from the leader. A batch that cannot be checked yet is not
// applied yet.
//
// Messages are handed over in batches (a batch ends when nothing more is
// pending or `max_batch` is reached); the handler must make the batch and the
// last sequence durable together (one RocksDB write batch), so after a crash
// the follower resumes right after what was stored. A follower that applied
// nothing for `stall_check` while the stream holds more reads the tail by
// sequence on its own thread, so it never waits on a delivery that does not
// come.
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
    // Tests only: alters each delivered message before it is checked,
    // standing in for a server that holds another history than the leader.
    std::function<void(StreamMessage&)> tamper_delivery = nullptr;
    // How often a follower that applied nothing asks whether the stream holds
    // more; when it does, the follower reads the tail by sequence itself
    // (delivery from a diverged or stalled server may never bring it).
    // Zero: only CatchUp reads a stalled tail.
    absl::Duration stall_check = absl::Seconds(1);
    // Read every message from the stream leader (delivery only signals that
    // the stream moved): for an audit; a follower switches to it by itself
    // once a delivered batch differed from the leader's.
    bool each_from_leader = false;
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
  // Concurrent callers share one question to the stream leader: each waits
  // for the answer to a question asked after it called (so it sees every
  // message stored before it called), and one answer serves every caller
  // that arrived while the previous question was out.
  absl::Status CatchUp(absl::Time deadline) const;
  // Questions to the leader that CatchUp asked (fewer than its calls under
  // concurrency).
  uint64_t end_queries() const;

  // Messages read by sequence because delivery skipped or stalled on them.
  uint64_t gap_filled() const { return gap_filled_.load(); }
  // Delivered messages that the stream leader held otherwise, replaced by
  // the leader's.
  uint64_t replaced_from_leader() const { return replaced_.load(); }

 private:
  StreamFollower(JetStream& js, Options options, BatchHandler handler)
      : js_(js),
        options_(std::move(options)),
        handler_(std::move(handler)),
        last_accepted_(options_.applied),
        each_from_leader_(options_.each_from_leader),
        applied_(options_.applied) {}
  static void OnMessage(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
  static void OnComplete(void* closure);
  // Under apply_mu_: takes one delivered message in stream order.
  void Accept(StreamMessage msg) const;
  // Under apply_mu_: reads [from, to] by sequence into the batch. False when
  // a message could not be read (the rest waits for a later attempt).
  bool FillGap(uint64_t from, uint64_t to) const;
  // Under apply_mu_: true when the batch holds the stream leader's messages
  // (re-reading it from the leader when it did not). False when that cannot
  // be known yet: the batch waits.
  bool VerifyBatch() const;
  void Flush() const;
  // Reads what delivery has not brought up to `last` by sequence (at most
  // 10000 messages a call) and applies it.
  void ReadTail(uint64_t last) const;
  // The stall_check loop (its own thread).
  void WatchStalls();
  // The stream's last sequence, from a question asked after this call began.
  absl::StatusOr<uint64_t> FreshLastSequence(absl::Time deadline) const;

  JetStream& js_;
  const Options options_;
  const BatchHandler handler_;
  natsSubscription* sub_ = nullptr;
  // Set when stopping: callbacks still queued drop their message. NATS.c
  // may still be inside a callback after Unsubscribe returns; `done_` is
  // notified once the last one returned, and only then is this destroyed.
  std::atomic<bool> stopping_{false};
  absl::Notification done_;
  absl::Notification stop_watch_;
  std::thread watcher_;
  // Applying: the delivery thread, or CatchUp reading a stalled tail. (CatchUp
  // is const to its callers: it changes nothing they can see but progress.)
  mutable absl::Mutex apply_mu_;
  mutable std::vector<StreamMessage> batch_ ABSL_GUARDED_BY(apply_mu_);
  // The last sequence in the batch or applied: the next must follow it.
  mutable uint64_t last_accepted_ ABSL_GUARDED_BY(apply_mu_);
  // The last message in the batch that came by delivery (0: none); the
  // others were read from the leader by sequence.
  mutable uint64_t last_delivered_ ABSL_GUARDED_BY(apply_mu_) = 0;
  // The newest store time among messages applied so far (OlderThanPredecessor).
  mutable int64_t last_ts_ ABSL_GUARDED_BY(apply_mu_) = 0;
  // Set once a delivered batch differed from the leader's (or by
  // Options::each_from_leader): every message is then read from the leader.
  mutable bool each_from_leader_ ABSL_GUARDED_BY(apply_mu_) = false;
  mutable std::atomic<uint64_t> gap_filled_{0};
  mutable std::atomic<uint64_t> replaced_{0};
  mutable absl::Mutex mu_;
  mutable uint64_t applied_ ABSL_GUARDED_BY(mu_);
  // FreshLastSequence's rounds: at most one question out at a time.
  mutable absl::Mutex end_mu_;
  mutable uint64_t end_asked_ ABSL_GUARDED_BY(end_mu_) = 0;
  mutable uint64_t end_answered_ ABSL_GUARDED_BY(end_mu_) = 0;
  mutable absl::StatusOr<uint64_t> end_answer_ ABSL_GUARDED_BY(end_mu_) = uint64_t{0};
};

}  // namespace rentmesh::nats
