#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/domain/notification.h"

namespace rentmesh::notification {

// A way to reach a customer (log, webhook, ...). Implementations are
// thread-safe and bound every send by their own deadline.
class NotificationChannel {
 public:
  virtual ~NotificationChannel() = default;
  // Short and stable ("log", "webhook"): part of notification ids, metrics
  // labels and durable names.
  virtual absl::string_view name() const = 0;
  // Sends `message` about `notice`. `notification_id` is the same for every
  // attempt of this delivery (receivers use it to drop repeats). OK: the
  // channel took it. A permanent error (INVALID_ARGUMENT, FAILED_PRECONDITION,
  // PERMISSION_DENIED, ...): it never will, do not retry. Anything else is
  // transient: retry later.
  virtual absl::Status Send(const Notice& notice, const std::string& notification_id,
                            const std::string& message) = 0;
};

}  // namespace rentmesh::notification
