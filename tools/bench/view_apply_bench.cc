// The projection's own apply rate, in process and without NATS: 100,002
// events (33,334 rentals as in view_rebuild_bench) translated from stream
// messages and applied to a fresh RocksDB in follower-sized batches (1,024),
// RENTAL first, then PAYMENT. Prints wall time and the thread's CPU time, then
// the CPU cost of the store reads behind the queries.
#include <time.h>

#include "adapters/inbound/nats/event_translator.h"
#include "adapters/outbound/rocksdb/rocksdb_view_store.h"
#include "core/view_service.h"
#include "rentmesh/rocksdb/state_store.h"
#include "view_bench_support.h"

namespace rentmesh::view::bench {
namespace {

constexpr int kRentals = 33334;
constexpr size_t kBatch = 1024;

// Collects what PublishRental would send, as stream messages.
struct Capture {
  std::vector<nats::StreamMessage> rental, payment;
};

nats::StreamMessage ToMessage(const events::v1::Envelope& env, const std::string& subject,
                              uint64_t seq) {
  nats::PublishRequest r = events::ToPublishRequest(env, subject, std::nullopt);
  nats::StreamMessage m;
  m.sequence = seq;
  m.subject = r.subject;
  m.data = r.data;
  m.headers = r.headers;
  m.headers["Nats-Msg-Id"] = r.msg_id;
  return m;
}

// CPU time of the calling thread: unlike wall time, it does not depend on
// what else the shared machine runs.
absl::Duration ThreadCpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

int Main() {
  Capture cap;
  const absl::Time t0 = absl::Now() - absl::Hours(24 * 30);
  for (int i = 0; i < kRentals; ++i) {
    const std::string rental = absl::StrCat("r-", i), book = absl::StrCat("book-", i % 500),
                      customer = absl::StrCat("cust-", i % 5000);
    events::EnvelopeHeader h;
    h.correlation_id = rental;
    h.occurred_at = t0 + absl::Seconds(i);
    events::v1::Envelope requested, rented, paid;
    auto* rq = requested.mutable_rental_requested();
    rq->set_rental_id(rental);
    rq->set_book_id(book);
    rq->set_customer_id(customer);
    rq->set_days(3);
    *rq->mutable_fee() = Krw(3000);
    events::Seal(h, requested);
    auto* br = rented.mutable_book_rented();
    br->set_rental_id(rental);
    br->set_book_id(book);
    br->set_customer_id(customer);
    br->set_days(3);
    *br->mutable_fee() = Krw(3000);
    *br->mutable_rented_at() = events::ToProtoTime(h.occurred_at);
    *br->mutable_due_at() = events::ToProtoTime(h.occurred_at + absl::Hours(72));
    events::Seal(h, rented);
    auto* pa = paid.mutable_payment_approved();
    pa->set_rental_id(rental);
    pa->set_customer_id(customer);
    *pa->mutable_amount() = Krw(3000);
    events::Seal(h, paid);
    cap.rental.push_back(ToMessage(requested, "rental.book." + book, cap.rental.size() + 1));
    cap.rental.push_back(ToMessage(rented, "rental.book." + book, cap.rental.size() + 1));
    cap.payment.push_back(ToMessage(paid, "payment.rental." + rental, cap.payment.size() + 1));
  }

  testing::TempDir dir;
  auto state = rocksdb_store::StateStore::Open(dir.Sub("db"));
  if (!state.ok()) Die("open", state.status());
  RocksDbViewStore store(**state);
  auto service = ViewService::Create(store, {"RENTAL", "PAYMENT", "RETURNS"});
  if (!service.ok()) Die("create", service.status());

  events::v1::Envelope scratch;
  absl::Duration translate, apply;
  const absl::Duration cpu_start = ThreadCpu();
  const absl::Time wall_start = absl::Now();
  size_t events = 0;
  for (auto [stream, messages] :
       {std::pair<const char*, std::vector<nats::StreamMessage>*>{"RENTAL", &cap.rental},
        {"PAYMENT", &cap.payment}}) {
    for (size_t at = 0; at < messages->size(); at += kBatch) {
      const size_t end = std::min(messages->size(), at + kBatch);
      absl::Time t = absl::Now();
      std::vector<ViewEvent> batch;
      batch.reserve(end - at);
      for (size_t i = at; i < end; ++i) {
        batch.push_back(*TranslateMessage((*messages)[i], stream, scratch));
      }
      translate += absl::Now() - t;
      t = absl::Now();
      if (absl::Status s = (*service)->ApplyBatch(stream, batch, (*messages)[end - 1].sequence);
          !s.ok()) {
        Die("apply", s);
      }
      apply += absl::Now() - t;
      events += end - at;
    }
  }
  const double cpu = absl::ToDoubleSeconds(ThreadCpu() - cpu_start);
  const double wall = absl::ToDoubleSeconds(absl::Now() - wall_start);
  std::printf(
      "%zu events: wall %.0f ms (translate %.0f, apply %.0f) = %.0f events/s; "
      "CPU %.0f ms = %.0f events per CPU-second (%.2f us/event)\n",
      events, wall * 1e3, absl::ToDoubleMilliseconds(translate), absl::ToDoubleMilliseconds(apply),
      events / wall, cpu * 1e3, events / cpu, cpu * 1e6 / events);

  // The store side of the queries, on the projection just built: a customer's
  // page read from RocksDB (what GetMyPage does when its cache misses) and a
  // rental with its timeline.
  RocksDbViewStore& reader = store;
  const absl::Duration page_cpu = ThreadCpu();
  constexpr int kReads = 20000;
  size_t rows = 0;
  for (int i = 0; i < kReads; ++i) {
    auto page = reader.ListCustomerRentals(absl::StrCat("cust-", i % 5000), std::nullopt, 21);
    if (!page.ok()) Die("page", page.status());
    rows += page->size();
  }
  const double page_us = absl::ToDoubleMicroseconds(ThreadCpu() - page_cpu) / kReads;
  const absl::Duration one_cpu = ThreadCpu();
  for (int i = 0; i < kReads; ++i) {
    auto one = reader.LoadRental(absl::StrCat("r-", i % kRentals));
    if (!one.ok() || !one->has_value()) Die("rental", one.status());
  }
  const double one_us = absl::ToDoubleMicroseconds(ThreadCpu() - one_cpu) / kReads;
  std::printf(
      "store reads: a customer's page (%.1f rentals) %.1f us CPU; one rental with "
      "timeline %.1f us CPU\n",
      static_cast<double>(rows) / kReads, page_us, one_us);
  return 0;
}

}  // namespace
}  // namespace rentmesh::view::bench

int main() { return rentmesh::view::bench::Main(); }
