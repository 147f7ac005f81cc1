#include "core/notification_service.h"

#include "absl/strings/str_cat.h"

namespace rentmesh::notification {

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (id.size() > NotificationService::kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", NotificationService::kMaxIdLength, " characters"));
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(field, " holds control characters"));
    }
  }
  return absl::OkStatus();
}

bool IsPermanentChannelError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

absl::Status NotificationService::Deliver(const Notice& notice, NotificationChannel& channel,
                                          int attempt) {
  if (notice.event_id.empty()) return absl::InvalidArgumentError("the event has no id");
  if (notice.customer_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event ", notice.event_id, " names no customer"));
  }
  const std::string id = NotificationIdFor(notice.event_id, channel.name());
  absl::StatusOr<std::optional<Notification>> found = history_.Find(id);
  if (!found.ok()) return found.status();
  if (found->has_value()) {
    if (observer_ != nullptr) observer_->Duplicate(channel.name());
    return absl::OkStatus();
  }
  const std::string message = MessageFor(notice);
  const absl::Status sent = channel.Send(notice, id, message);
  if (!sent.ok() && !IsPermanentChannelError(sent) && attempt < options_.max_attempts) {
    if (observer_ != nullptr) observer_->Retried(channel.name());
    return absl::UnavailableError(
        absl::StrCat("channel ", channel.name(), " (attempt ", attempt, "): ", sent.message()));
  }
  return RecordOutcome(notice, id, channel, message, attempt, sent);
}

absl::Status NotificationService::RecordOutcome(const Notice& notice, const std::string& id,
                                                NotificationChannel& channel,
                                                const std::string& message, int attempt,
                                                const absl::Status& sent) {
  Notification n;
  n.notification_id = id;
  n.customer_id = notice.customer_id;
  n.rental_id = notice.rental_id;
  n.book_id = notice.book_id;
  n.kind = notice.kind;
  n.channel = std::string(channel.name());
  n.status = sent.ok() ? DeliveryStatus::kSent : DeliveryStatus::kFailed;
  n.message = message;
  n.event_id = notice.event_id;
  n.event_type = notice.event_type;
  n.occurred_at = notice.occurred_at;
  n.recorded_at = clock_.Now();
  n.attempts = attempt;
  if (!sent.ok()) n.error = std::string(sent.message());
  // A record that cannot be stored now is retried; the channel may then get
  // the message twice, with the same notification id.
  if (absl::Status s = history_.Record(n); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot record ", id, ": ", s.message()));
  }
  if (observer_ != nullptr) {
    if (sent.ok()) {
      observer_->Sent(channel.name());
    } else {
      observer_->Failed(channel.name());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NotificationHistory::Page> NotificationService::ListNotifications(
    absl::string_view customer_id, int page_size, absl::string_view page_token) {
  if (absl::Status s = ValidateId("customer_id", customer_id); !s.ok()) return s;
  if (page_size < 0 || page_size > options_.max_page_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be 0..", options_.max_page_size));
  }
  if (page_size == 0) page_size = options_.default_page_size;
  return history_.List(customer_id, page_size, page_token);
}

}  // namespace rentmesh::notification
