#include "adapters/outbound/nats/jetstream_reminder_log.h"

#include "absl/strings/str_cat.h"
#include "adapters/outbound/nats/jetstream_notification_history.h"
#include "adapters/proto/notification_mapping.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {

std::string JetStreamReminderLog::SubjectFor(NotificationKind kind, absl::string_view rental_id) {
  return absl::StrCat(kSubjectPrefix, kind == NotificationKind::kOverdue ? "overdue" : "due_soon",
                      ".", JetStreamNotificationHistory::SubjectToken(rental_id));
}

absl::Status JetStreamReminderLog::Schedule(const Reminder& r) {
  v1::DueReminder body;
  body.set_reminder_id(r.reminder_id);
  body.set_kind(ToProto(r.kind));
  body.set_rental_id(r.timer.rental_id);
  body.set_customer_id(r.timer.customer_id);
  body.set_book_id(r.timer.book_id);
  body.set_book_title(r.timer.book_title);
  *body.mutable_due_at() = events::ToProtoTime(r.timer.due_at);
  *body.mutable_scheduled_at() = events::ToProtoTime(r.scheduled_at);
  nats::PublishRequest req;
  req.subject = SubjectFor(r.kind, r.timer.rental_id);
  req.data = body.SerializeAsString();
  req.msg_id = r.reminder_id;
  req.expected_last_subject_seq = 0;
  req.headers[nats::kEventTypeHeader] = "DueReminder";
  req.headers[events::kCorrelationHeader] = r.timer.rental_id;
  req.timeout = max_wait_;
  absl::StatusOr<nats::PubAck> ack = js_.Publish(req);
  if (absl::IsAborted(ack.status())) {
    return absl::AlreadyExistsError(absl::StrCat(r.reminder_id, " is scheduled already"));
  }
  if (!ack.ok()) return ack.status();
  if (ack->duplicate) {
    return absl::AlreadyExistsError(absl::StrCat(r.reminder_id, " is scheduled already"));
  }
  return absl::OkStatus();
}

}  // namespace rentmesh::notification
