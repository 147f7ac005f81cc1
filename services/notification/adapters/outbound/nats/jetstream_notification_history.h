#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/outbound/rocksdb/rocksdb_notification_store.h"
#include "core/ports/notification_history.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::notification {

// The history on the NOTIFICATION stream (the system of record every replica
// shares) and this replica's fold of it.
//
// Record publishes on notification.customer.<customer token> with
// Nats-Msg-Id = notification id (the server drops a repeat within its
// window; the fold drops any later one) and waits until the fold applied it.
// Find and List first catch up with the stream's head, so what another
// replica recorded is seen; List answers from the local fold when NATS
// cannot be reached (a read may then be a little behind).
class JetStreamNotificationHistory final : public NotificationHistory {
 public:
  static constexpr char kStream[] = "NOTIFICATION";
  static nats::StreamSpec Stream(int replicas);
  // The subject of a customer's records: notification.customer.<token>.
  static std::string SubjectFor(absl::string_view customer_id);
  // An id as one subject token: itself when it is [A-Za-z0-9_-]+, otherwise
  // "x" and its hex.
  static std::string SubjectToken(absl::string_view id);

  JetStreamNotificationHistory(nats::JetStream& js, const nats::StreamFollower& follower,
                               const RocksDbNotificationStore& store, absl::Duration max_wait)
      : js_(js), follower_(follower), store_(store), max_wait_(max_wait) {}

  // NotificationHistory
  absl::StatusOr<std::optional<Notification>> Find(absl::string_view notification_id) override;
  absl::Status Record(const Notification& notification) override;
  absl::StatusOr<Page> List(absl::string_view customer_id, int page_size,
                            absl::string_view page_token) override;

 private:
  nats::JetStream& js_;
  const nats::StreamFollower& follower_;
  const RocksDbNotificationStore& store_;
  const absl::Duration max_wait_;
};

}  // namespace rentmesh::notification
