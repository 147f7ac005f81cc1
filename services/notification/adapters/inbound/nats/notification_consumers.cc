#include "adapters/inbound/nats/notification_consumers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/inbound/nats/event_notices.h"
#include "adapters/outbound/nats/jetstream_notification_history.h"
#include "adapters/outbound/nats/jetstream_reminder_log.h"
#include "adapters/proto/notification_mapping.h"
#include "core/domain/due_reminder.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {

std::string NotificationConsumers::DurableName(absl::string_view channel,
                                               absl::string_view stream) {
  return absl::StrCat("notification-", channel, "-", absl::AsciiStrToLower(stream));
}

std::vector<nats::StreamSpec> NotificationConsumers::SourceStreams(int replicas) {
  nats::StreamSpec rental;
  rental.name = events::kRentalStream;
  rental.subjects = {"rental.>"};
  rental.replicas = replicas;
  nats::StreamSpec payment;
  payment.name = events::kPaymentStream;
  payment.subjects = {"payment.>"};
  payment.replicas = replicas;
  nats::StreamSpec delivery;
  delivery.name = events::kDeliveryStream;
  delivery.subjects = {"delivery.>"};
  delivery.replicas = replicas;
  return {rental, payment, delivery};
}

std::string NotificationConsumers::DurableFilter(absl::string_view stream) {
  if (stream == events::kDeliveryStream) return "delivery.rental.>";
  return absl::StrCat(absl::AsciiStrToLower(stream), ".>");
}

absl::Status HandleEvent(NotificationService& service, NotificationChannel& channel,
                         const DeliveryFactsOf& delivery_facts, nats::FlowObserver* observer,
                         absl::string_view durable, const nats::StreamMessage& msg) {
  absl::StatusOr<events::v1::Envelope> e = events::ParseTrustedEnvelope(msg);
  if (!e.ok()) {
    if (observer != nullptr) observer->Untrusted(durable);
    LogWarn("set aside a message that is not one of our events",
            {{"subject", msg.subject},
             {"sequence", absl::StrCat(msg.sequence)},
             {"error", e.status().ToString()}});
    return e.status();  // permanent: dead-lettered at once
  }
  std::optional<Notice> notice = NoticeOf(*e);
  if (!notice.has_value()) return absl::OkStatus();
  if (IsDeliveryStep(notice->kind)) {
    absl::StatusOr<std::optional<DeliveryFacts>> facts = delivery_facts(*notice);
    if (!facts.ok()) return absl::UnavailableError(facts.status().message());
    if (!facts->has_value()) {
      LogInfo("delivery step skipped: its delivery was never requested",
              {{"event_id", notice->event_id},
               {"delivery_id", notice->delivery_id},
               {"channel", channel.name()}});
      return absl::OkStatus();
    }
    AddFacts(**facts, *notice);
  }
  return service.Deliver(*notice, channel, static_cast<int>(msg.num_delivered));
}

absl::Status HandleReminder(NotificationService& service, NotificationChannel& channel,
                            const RentalOpen& rental_open, const nats::StreamMessage& msg) {
  v1::DueReminder p;
  if (!p.ParseFromString(msg.data) || p.reminder_id().empty() || p.customer_id().empty() ||
      (p.kind() != v1::NOTIFICATION_KIND_DUE_SOON && p.kind() != v1::NOTIFICATION_KIND_OVERDUE)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", msg.sequence, " on ", msg.subject, " is no due reminder"));
  }
  Reminder r;
  r.reminder_id = p.reminder_id();
  r.kind = FromProto(p.kind());
  r.timer.rental_id = p.rental_id();
  r.timer.customer_id = p.customer_id();
  r.timer.book_id = p.book_id();
  r.timer.book_title = p.book_title();
  r.timer.due_at = events::FromProtoTime(p.due_at());
  r.scheduled_at = events::FromProtoTime(p.scheduled_at());
  absl::StatusOr<bool> open = rental_open(r.timer.rental_id);
  if (!open.ok()) return absl::UnavailableError(open.status().message());
  if (!*open) {
    LogInfo("reminder dropped: the rental ended",
            {{"reminder_id", r.reminder_id}, {"channel", channel.name()}});
    return absl::OkStatus();
  }
  return service.Deliver(NoticeOf(r), channel, static_cast<int>(msg.num_delivered));
}

absl::StatusOr<std::unique_ptr<NotificationConsumers>> NotificationConsumers::Start(
    nats::JetStream& js, NotificationService& service,
    const std::vector<NotificationChannel*>& channels, const Options& options) {
  if (!options.delivery_facts) return absl::InvalidArgumentError("consumers need delivery_facts");
  std::unique_ptr<NotificationConsumers> out(new NotificationConsumers());
  for (const nats::StreamSpec& spec : SourceStreams(options.stream_replicas)) {
    if (absl::Status s = js.EnsureStream(spec); !s.ok()) return s;
  }
  auto consumer_options = [&options](std::string stream, std::string durable, std::string filter) {
    nats::DurableConsumer::Options o;
    o.stream = std::move(stream);
    o.durable = std::move(durable);
    o.filter_subject = std::move(filter);
    o.max_deliver = options.max_deliver;
    o.backoff_initial = options.backoff_initial;
    o.backoff_max = options.backoff_max;
    o.ack_wait = options.ack_wait;
    o.fetch_wait = options.fetch_wait;
    o.dead_letter_replicas = options.stream_replicas;
    return o;
  };
  for (NotificationChannel* channel : channels) {
    for (const nats::StreamSpec& spec : SourceStreams(options.stream_replicas)) {
      nats::DurableConsumer::Options o = consumer_options(
          spec.name, DurableName(channel->name(), spec.name), DurableFilter(spec.name));
      nats::FlowObserver* observer = js.observer();
      absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> c = nats::DurableConsumer::Start(
          js, o,
          [&service, channel, facts = options.delivery_facts, observer,
           durable = o.durable](const nats::StreamMessage& m) {
            return HandleEvent(service, *channel, facts, observer, durable, m);
          });
      if (!c.ok()) return c.status();
      out->consumers_.push_back({o.durable, std::move(*c)});
    }
    if (!options.reminders) continue;
    nats::DurableConsumer::Options o =
        consumer_options(JetStreamNotificationHistory::kStream,
                         absl::StrCat("notification-", channel->name(), "-due"),
                         absl::StrCat(JetStreamReminderLog::kSubjectPrefix, ">"));
    if (!options.rental_open) return absl::InvalidArgumentError("reminders need rental_open");
    absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> c = nats::DurableConsumer::Start(
        js, o, [&service, channel, open = options.rental_open](const nats::StreamMessage& m) {
          return HandleReminder(service, *channel, open, m);
        });
    if (!c.ok()) return c.status();
    out->consumers_.push_back({o.durable, std::move(*c)});
  }
  return out;
}

}  // namespace rentmesh::notification
