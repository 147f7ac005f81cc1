#include "integration/payment_test_support.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rentmesh/common/ids.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/nats/stream_follower.h"

namespace rentmesh::payment::testing {

namespace ev = ::rentmesh::events::v1;

absl::StatusOr<std::vector<nats::StreamMessage>> ReadStream(nats::JetStream& js,
                                                            const std::string& stream,
                                                            const std::string& subject) {
  absl::Mutex mu;
  std::vector<nats::StreamMessage> out;
  absl::StatusOr<std::unique_ptr<nats::StreamFollower>> follower = nats::StreamFollower::Start(
      js, {stream, subject, 0, 1024}, [&](const std::vector<nats::StreamMessage>& batch) {
        absl::MutexLock lock(&mu);
        out.insert(out.end(), batch.begin(), batch.end());
        return absl::OkStatus();
      });
  if (!follower.ok()) return follower.status();
  if (absl::Status s = (*follower)->CatchUp(absl::Now() + absl::Seconds(5)); !s.ok()) return s;
  follower->reset();
  absl::MutexLock lock(&mu);
  return out;
}

int CountEvents(const std::vector<nats::StreamMessage>& messages, const std::string& type,
                const std::string& subject) {
  int n = 0;
  for (const auto& m : messages) {
    if (m.Header(events::kEventTypeHeader) == type && (subject.empty() || m.subject == subject)) {
      ++n;
    }
  }
  return n;
}

int CountPaymentEvents(nats::JetStream& js, const std::string& type, const std::string& subject) {
  absl::StatusOr<std::vector<nats::StreamMessage>> all =
      ReadStream(js, events::kPaymentStream, "payment.>");
  return all.ok() ? CountEvents(*all, type, subject) : -1;
}

absl::StatusOr<uint64_t> DurablePending(nats::JetStream& js, const std::string& stream,
                                        const std::string& durable) {
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetConsumerInfo(&info, js.context(), stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return nats::FromNatsStatus(s, jerr, "consumer info");
  uint64_t pending = info->NumPending + static_cast<uint64_t>(info->NumAckPending);
  jsConsumerInfo_Destroy(info);
  return pending;
}

absl::Status PublishEvent(nats::JetStream& js, ev::Envelope envelope, const std::string& subject,
                          const std::string& correlation_id, bool copy) {
  events::EnvelopeHeader header;
  header.aggregate_type = "test";
  header.aggregate_id = subject;
  header.aggregate_version = 1;
  header.correlation_id = correlation_id;
  header.causation_id = "test";
  header.occurred_at = absl::Now();
  // The owner of the stream, as a trusted event must name it.
  header.producer = std::string(events::OwnerOfSubject(subject));
  header.trace.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  events::Seal(header, envelope);
  nats::PublishRequest req = events::ToPublishRequest(envelope, subject, std::nullopt);
  absl::StatusOr<nats::PubAck> ack = js.Publish(req);
  if (!ack.ok()) return ack.status();
  if (copy) {
    req.msg_id = NewId("copy-");
    ack = js.Publish(req);
    if (!ack.ok()) return ack.status();
  }
  return absl::OkStatus();
}

ev::Envelope BookAddedEvent(const std::string& book_id, int copies) {
  ev::Envelope e;
  ev::BookAdded* b = e.mutable_book_added();
  b->set_book_id(book_id);
  b->set_title("A test book");
  b->set_copies(copies);
  b->mutable_daily_fee()->set_currency("KRW");
  b->mutable_daily_fee()->set_amount_minor(1000);
  return e;
}

ev::Envelope RentalRequestedEvent(const std::string& rental_id, int64_t fee) {
  ev::Envelope e;
  ev::RentalRequested* r = e.mutable_rental_requested();
  r->set_rental_id(rental_id);
  r->set_book_id("book-1");
  r->set_customer_id("alice");
  r->mutable_fee()->set_currency("KRW");
  r->mutable_fee()->set_amount_minor(fee);
  return e;
}

ev::Envelope BookRentedEvent(const std::string& rental_id) {
  ev::Envelope e;
  ev::BookRented* r = e.mutable_book_rented();
  r->set_rental_id(rental_id);
  r->set_book_id("book-1");
  r->set_customer_id("alice");
  return e;
}

ev::Envelope BookReturnedEvent(const std::string& rental_id, const std::string& return_id,
                               int64_t late_fee) {
  ev::Envelope e;
  ev::BookReturned* r = e.mutable_book_returned();
  r->set_rental_id(rental_id);
  r->set_book_id("book-1");
  r->set_customer_id("alice");
  r->set_return_id(return_id);
  r->mutable_late_fee()->set_currency("KRW");
  r->mutable_late_fee()->set_amount_minor(late_fee);
  return e;
}

ev::Envelope RentalCancelledEvent(const std::string& rental_id, int64_t fee) {
  ev::Envelope e;
  ev::RentalCancelled* c = e.mutable_rental_cancelled();
  c->set_rental_id(rental_id);
  c->set_book_id("book-1");
  c->set_customer_id("alice");
  c->set_reason("plans changed");
  c->set_payment_id(DerivedId("pay-", {rental_id, "RENTAL_FEE"}));
  c->mutable_fee()->set_currency("KRW");
  c->mutable_fee()->set_amount_minor(fee);
  return e;
}

ev::Envelope RentalAbortedEvent(const std::string& rental_id, const std::string& customer) {
  ev::Envelope e;
  ev::RentalAborted* a = e.mutable_rental_aborted();
  a->set_rental_id(rental_id);
  a->set_book_id("book-1");
  a->set_customer_id(customer);
  a->set_reason("payment did not answer in time");
  return e;
}

ev::Envelope ReturnCompletedEvent(const std::string& rental_id, const std::string& return_id,
                                  int64_t total_fee) {
  ev::Envelope e;
  ev::ReturnCompleted* r = e.mutable_return_completed();
  r->set_return_id(return_id);
  r->set_rental_id(rental_id);
  r->set_book_id("book-1");
  r->set_customer_id("alice");
  r->set_days_overdue(3);
  r->mutable_total_fee()->set_currency("KRW");
  r->mutable_total_fee()->set_amount_minor(total_fee);
  r->set_condition("GOOD");
  return e;
}

v1::PayRequest PayRequestFor(const std::string& rental_id, int64_t amount,
                             const std::string& customer) {
  v1::PayRequest req;
  req.set_rental_id(rental_id);
  req.set_customer_id(customer);
  req.mutable_amount()->set_currency("KRW");
  req.mutable_amount()->set_amount_minor(amount);
  req.set_description("test rental");
  return req;
}

namespace {

void Prepare(grpc::ClientContext& ctx,
             const std::vector<std::pair<std::string, std::string>>& metadata) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
}

}  // namespace

Call Pay(v1::PaymentService::Stub& stub, const v1::PayRequest& req,
         const std::vector<std::pair<std::string, std::string>>& metadata) {
  grpc::ClientContext ctx;
  Prepare(ctx, metadata);
  Call c;
  c.status = stub.Pay(&ctx, req, &c.payment);
  return c;
}

Call GetPayment(v1::PaymentService::Stub& stub, const std::string& payment_id,
                const std::vector<std::pair<std::string, std::string>>& metadata) {
  grpc::ClientContext ctx;
  Prepare(ctx, metadata);
  v1::GetPaymentRequest req;
  req.set_payment_id(payment_id);
  Call c;
  c.status = stub.GetPayment(&ctx, req, &c.payment);
  return c;
}

Call Refund(v1::PaymentService::Stub& stub, const std::string& payment_id,
            const std::string& reason) {
  grpc::ClientContext ctx;
  Prepare(ctx, {});
  v1::RefundRequest req;
  req.set_payment_id(payment_id);
  req.set_reason(reason);
  Call c;
  c.status = stub.Refund(&ctx, req, &c.payment);
  return c;
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

}  // namespace rentmesh::payment::testing
