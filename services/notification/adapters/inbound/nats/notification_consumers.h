#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/notification_service.h"
#include "core/ports/delivery_facts.h"
#include "core/ports/notification_channel.h"
#include "rentmesh/nats/durable_consumer.h"
#include "rentmesh/nats/jetstream.h"

namespace rentmesh::notification {

// Whether a rental is still out, after catching up with RENTAL (an error:
// try again later).
using RentalOpen = std::function<absl::StatusOr<bool>(const std::string& rental_id)>;

// The facts of a delivery step's notice (its delivery_id, rental_id and
// courier_id), after catching up with what they come from (DELIVERY and
// RENTAL), so every step published before the call finds its delivery's
// request: nullopt means it was never requested. An error: try again later.
using DeliveryFactsOf =
    std::function<absl::StatusOr<std::optional<DeliveryFacts>>(const Notice& step)>;

// One durable pull consumer per channel and source stream:
// "notification-<channel>-rental" on RENTAL, "notification-<channel>-payment"
// on PAYMENT, "notification-<channel>-delivery" on DELIVERY (delivery.rental.>
// only: a courier's events are no customer's news), and
// "notification-<channel>-due" on NOTIFICATION's reminders. Replicas open the same
// durables, so each event reaches one replica per channel; a replica that was down resumes where
// its durables stand. Channels never wait for each other: a webhook that is down backs off on its
// own durables while the log channel's go on.
//
// Per message: not one of our events (events::ParseTrustedEnvelope) ->
// dead-lettered at once (permanent); an event we do not notify about ->
// acked; a delivery step of a delivery never requested -> acked (nobody to
// tell); otherwise NotificationService::Deliver with the delivery count as
// the attempt number, whose transient errors are redelivered with backoff.
class NotificationConsumers final {
 public:
  struct Options {
    int stream_replicas = 1;
    int max_deliver = 3000;
    absl::Duration backoff_initial = absl::Milliseconds(200);
    absl::Duration backoff_max = absl::Seconds(30);
    absl::Duration ack_wait = absl::Seconds(30);
    absl::Duration fetch_wait = absl::Milliseconds(500);
    // Also deliver the due-date reminders scheduled on NOTIFICATION
    // (notification.due.>), on "notification-<channel>-due".
    bool reminders = true;
    // Required with `reminders`.
    RentalOpen rental_open;
    // Required.
    DeliveryFactsOf delivery_facts;
  };

  // The durable of `channel` on `stream` ("RENTAL" -> "notification-log-rental").
  static std::string DurableName(absl::string_view channel, absl::string_view stream);
  // The streams followed, with their owners' specs (they are created when
  // missing, as notification may start first).
  static std::vector<nats::StreamSpec> SourceStreams(int replicas);
  // What the durables on `stream` take from it ("delivery.rental.>" on
  // DELIVERY, the whole stream on the others).
  static std::string DurableFilter(absl::string_view stream);

  // `channels` and `service` must outlive the consumers.
  static absl::StatusOr<std::unique_ptr<NotificationConsumers>> Start(
      nats::JetStream& js, NotificationService& service,
      const std::vector<NotificationChannel*>& channels, const Options& options);

  struct Entry {
    std::string durable;
    std::unique_ptr<nats::DurableConsumer> consumer;
  };
  const std::vector<Entry>& consumers() const { return consumers_; }

 private:
  NotificationConsumers() = default;
  std::vector<Entry> consumers_;
};

// The handler of one channel's reminder durable: a v1::DueReminder body
// (anything else is dead-lettered at once) delivered as its notice, unless
// the rental ended meanwhile (e.g. returned while the channel was down):
// then it is acknowledged and nothing is sent.
absl::Status HandleReminder(NotificationService& service, NotificationChannel& channel,
                            const RentalOpen& rental_open, const nats::StreamMessage& msg);

// The handler of one channel's durables (public for tests).
absl::Status HandleEvent(NotificationService& service, NotificationChannel& channel,
                         const DeliveryFactsOf& delivery_facts, nats::FlowObserver* observer,
                         absl::string_view durable, const nats::StreamMessage& msg);

}  // namespace rentmesh::notification
