#include "adapters/outbound/nats/jetstream_notification_history.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/proto/notification_mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {

nats::StreamSpec JetStreamNotificationHistory::Stream(int replicas) {
  nats::StreamSpec spec;
  spec.name = kStream;
  spec.subjects = {"notification.>"};
  spec.replicas = replicas;
  return spec;
}

std::string JetStreamNotificationHistory::SubjectToken(absl::string_view id) {
  bool safe = !id.empty();
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') safe = false;
  }
  return safe ? std::string(id) : absl::StrCat("x", absl::BytesToHexString(id));
}

std::string JetStreamNotificationHistory::SubjectFor(absl::string_view customer_id) {
  return absl::StrCat("notification.customer.", SubjectToken(customer_id));
}

absl::StatusOr<std::optional<Notification>> JetStreamNotificationHistory::Find(
    absl::string_view notification_id) {
  if (absl::Status s = follower_.CatchUp(absl::Now() + max_wait_); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot catch up with the notification history: ", s.message()));
  }
  return store_.Get(notification_id);
}

absl::Status JetStreamNotificationHistory::Record(const Notification& notification) {
  v1::Notification body;
  ToProto(notification, &body);
  nats::PublishRequest req;
  req.subject = SubjectFor(notification.customer_id);
  req.data = body.SerializeAsString();
  req.msg_id = notification.notification_id;
  req.headers[nats::kEventTypeHeader] = "Notification";
  req.headers[events::kCorrelationHeader] = notification.rental_id;
  req.timeout = max_wait_;
  absl::StatusOr<nats::PubAck> ack = js_.Publish(req);
  if (!ack.ok()) return ack.status();
  // A later Find on this replica must see it.
  return follower_.WaitApplied(ack->sequence, absl::Now() + max_wait_);
}

absl::StatusOr<NotificationHistory::Page> JetStreamNotificationHistory::List(
    absl::string_view customer_id, int page_size, absl::string_view page_token) {
  if (absl::Status s = follower_.CatchUp(absl::Now() + max_wait_); !s.ok()) {
    LogWarn("listing from the local fold: cannot catch up", {{"error", s.ToString()}});
  }
  return store_.List(customer_id, page_size, page_token);
}

}  // namespace rentmesh::notification
