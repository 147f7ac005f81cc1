#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/ports/notification_channel.h"

namespace rentmesh::notification {

// The default channel: one structured log line per notification (stderr,
// JSON). Never fails.
class LogChannel final : public NotificationChannel {
 public:
  // NotificationChannel
  absl::string_view name() const override { return "log"; }
  absl::Status Send(const Notice& notice, const std::string& notification_id,
                    const std::string& message) override;
};

}  // namespace rentmesh::notification
