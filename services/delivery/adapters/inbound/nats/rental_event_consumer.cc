#include "adapters/inbound/nats/rental_event_consumer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::delivery {

nats::StreamSpec RentalEventConsumer::RentalStream(int replicas) {
  nats::StreamSpec rental;
  rental.name = events::kRentalStream;
  rental.subjects = {"rental.>"};
  rental.replicas = replicas;
  return rental;
}

absl::Status HandleRentalEvent(DeliveryService& service, const nats::StreamMessage& msg,
                               absl::Duration max_wait) {
  absl::StatusOr<events::v1::Envelope> e = events::ParseTrustedEnvelope(msg);
  if (!e.ok()) {
    LogWarn("set aside a message that is not one of our events",
            {{"subject", msg.subject},
             {"sequence", absl::StrCat(msg.sequence)},
             {"error", e.status().ToString()}});
    return e.status();  // permanent: dead-lettered at once
  }
  if (!e->has_book_rented()) return absl::OkStatus();
  const events::v1::BookRented& rented = e->book_rented();
  RentalPaid paid{rented.rental_id(), rented.customer_id(), rented.book_id(), e->event_id()};
  EventTrace trace{e->trace().traceparent(),
                   e->trace().tracestate(),
                   e->trace().request_id(),
                   {e->trace().b3().begin(), e->trace().b3().end()}};
  absl::StatusOr<Delivery> d = service.RequestForRental(paid, trace, absl::Now() + max_wait);
  if (!d.ok()) return d.status();
  LogInfo("delivery requested", {{"rental_id", d->rental_id},
                                 {"delivery_id", d->delivery_id},
                                 {"status", StatusName(d->status)},
                                 {"courier_id", d->courier_id}});
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<nats::DurableConsumer>> RentalEventConsumer::Start(
    nats::JetStream& js, DeliveryService& service, const Options& options) {
  if (absl::Status s = js.EnsureStream(RentalStream(options.stream_replicas)); !s.ok()) return s;
  nats::DurableConsumer::Options o;
  o.stream = events::kRentalStream;
  o.durable = kDurable;
  o.filter_subject = "rental.book.>";
  o.backoff_initial = options.backoff_initial;
  o.backoff_max = options.backoff_max;
  o.ack_wait = options.ack_wait;
  o.dead_letter_replicas = options.stream_replicas;
  const absl::Duration wait = options.max_wait;
  return nats::DurableConsumer::Start(js, o, [&service, wait](const nats::StreamMessage& m) {
    return HandleRentalEvent(service, m, wait);
  });
}

}  // namespace rentmesh::delivery
