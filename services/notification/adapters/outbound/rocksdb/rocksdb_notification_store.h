#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/ports/due_timers.h"
#include "core/ports/notification_history.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::notification {

// This replica's fold of the NOTIFICATION stream in RocksDB:
//   n/<notification id>                          -> v1::Notification
//   c/<hex customer id>/<inverted stream seq>     -> v1::Notification (newest first)
//   pos/NOTIFICATION                             -> last sequence applied
// Every batch and its position go in one write batch. The first record of a
// notification id wins; a later copy (a record repeated after the server's
// duplicate window) changes nothing and is counted.
class RocksDbNotificationStore final {
 public:
  static constexpr char kPosition[] = "NOTIFICATION";

  // `due_timers` (may be null) is told of every reminder scheduled on the
  // stream (notification.due.>), whichever replica scheduled it.
  explicit RocksDbNotificationStore(rocksdb_store::StateStore& store,
                                    DueTimers* due_timers = nullptr)
      : store_(store), due_timers_(due_timers) {}

  absl::StatusOr<uint64_t> AppliedPosition() const { return store_.GetPosition(kPosition); }
  // The StreamFollower's batch handler. Records are the messages on
  // notification.customer.>; a body there that is not a Notification with an
  // id and a customer is skipped (and counted).
  absl::Status Apply(const std::vector<nats::StreamMessage>& batch);

  absl::StatusOr<std::optional<Notification>> Get(absl::string_view notification_id) const;
  absl::StatusOr<NotificationHistory::Page> List(absl::string_view customer_id, int page_size,
                                                 absl::string_view page_token) const;

  uint64_t skipped() const { return skipped_; }

 private:
  rocksdb_store::StateStore& store_;
  DueTimers* const due_timers_;
  uint64_t skipped_ = 0;  // the follower's thread only
};

}  // namespace rentmesh::notification
