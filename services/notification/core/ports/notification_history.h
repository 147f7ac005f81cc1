#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/notification.h"

namespace rentmesh::notification {

// The history of deliveries, shared by every replica (the NOTIFICATION
// stream, folded into each replica's store).
class NotificationHistory {
 public:
  virtual ~NotificationHistory() = default;

  // The recorded delivery with this id, after catching up with everything
  // any replica recorded so far; nullopt when there is none. UNAVAILABLE when
  // the history cannot be caught up with now.
  virtual absl::StatusOr<std::optional<Notification>> Find(absl::string_view notification_id) = 0;

  // Records a delivery for good (a second record of the same id changes
  // nothing). UNAVAILABLE when it cannot be stored now.
  virtual absl::Status Record(const Notification& notification) = 0;

  struct Page {
    std::vector<Notification> notifications;
    std::string next_page_token;
  };
  // The customer's deliveries newest first, `page_size` at most, after the
  // position `page_token` names (empty: from the newest). INVALID_ARGUMENT
  // for a token this history did not give out.
  virtual absl::StatusOr<Page> List(absl::string_view customer_id, int page_size,
                                    absl::string_view page_token) = 0;
};

}  // namespace rentmesh::notification
