#include "adapters/outbound/channels/log_channel.h"

#include "rentmesh/common/log.h"

namespace rentmesh::notification {

absl::Status LogChannel::Send(const Notice& notice, const std::string& notification_id,
                              const std::string& message) {
  LogInfo("notification", {{"notification_id", notification_id},
                           {"customer_id", notice.customer_id},
                           {"rental_id", notice.rental_id},
                           {"kind", KindName(notice.kind)},
                           {"event_id", notice.event_id},
                           {"message", message}});
  return absl::OkStatus();
}

}  // namespace rentmesh::notification
