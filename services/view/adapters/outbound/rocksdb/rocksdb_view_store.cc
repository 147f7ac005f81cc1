#include "adapters/outbound/rocksdb/rocksdb_view_store.h"

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "view_state.pb.h"

namespace rentmesh::view {
namespace {

constexpr int64_t kPastNanos = std::numeric_limits<int64_t>::min();
constexpr int64_t kFutureNanos = std::numeric_limits<int64_t>::max();

int64_t ToNanos(absl::Time t) {
  if (t == absl::InfinitePast()) return kPastNanos;
  if (t == absl::InfiniteFuture()) return kFutureNanos;
  return absl::ToUnixNanos(t);
}

absl::Time FromNanos(int64_t n) {
  if (n == kPastNanos) return absl::InfinitePast();
  if (n == kFutureNanos) return absl::InfiniteFuture();
  return absl::FromUnixNanos(n);
}

void ToRecord(const Money& m, state::Money* out) {
  out->set_currency(m.currency);
  out->set_minor(m.minor);
}

Money FromRecord(const state::Money& m) { return Money{m.currency(), m.minor()}; }

void ToRecord(const DeliveryFacts& d, state::DeliveryRecord* out) {
  out->set_delivery_id(d.delivery_id);
  out->set_requested(d.requested);
  out->set_assigned(d.assigned);
  out->set_picked_up(d.picked_up);
  out->set_delivered(d.delivered);
  out->set_cancelled(d.cancelled);
  out->set_delivered_at(ToNanos(d.delivered_at));
  out->set_region(d.region);
  out->set_courier_id(d.courier_id);
  out->set_courier_step(d.courier_step);
}

DeliveryFacts FromRecord(const state::DeliveryRecord& r) {
  DeliveryFacts d;
  d.delivery_id = r.delivery_id();
  d.requested = r.requested();
  d.assigned = r.assigned();
  d.picked_up = r.picked_up();
  d.delivered = r.delivered();
  d.cancelled = r.cancelled();
  d.delivered_at = FromNanos(r.delivered_at());
  d.region = r.region();
  d.courier_id = r.courier_id();
  d.courier_step = r.courier_step();
  return d;
}

void ToRecord(const RentalView& r, bool with_timeline, state::RentalRecord* out) {
  out->set_rental_id(r.rental_id);
  out->set_customer_id(r.customer_id);
  out->set_book_id(r.book_id);
  out->set_book_title(r.book_title);
  out->set_days(r.days);
  out->set_requested(r.requested);
  out->set_requested_at(ToNanos(r.requested_at));
  out->set_rented(r.rented);
  out->set_rented_at(ToNanos(r.rented_at));
  out->set_due_at(ToNanos(r.due_at));
  ToRecord(r.rented_fee, out->mutable_rented_fee());
  if (!r.base_fee.currency.empty()) {
    ToRecord(r.base_fee, out->mutable_base_fee());
    ToRecord(r.discount, out->mutable_discount());
  }
  out->set_tier(r.tier);
  out->set_discount_percent(r.discount_percent);
  out->set_failed(r.failed);
  out->set_failure_reason(r.failure_reason);
  out->set_refused(r.refused);
  out->set_returned(r.returned);
  out->set_returned_at(ToNanos(r.returned_at));
  ToRecord(r.returned_late_fee, out->mutable_returned_late_fee());
  out->set_cancelled(r.cancelled);
  out->set_cancelled_at(ToNanos(r.cancelled_at));
  out->set_payment_approved(r.payment_approved);
  ToRecord(r.payment_amount, out->mutable_payment_amount());
  out->set_payment_declined(r.payment_declined);
  ToRecord(r.refunded, out->mutable_refunded());
  out->set_late_fee_charged(r.late_fee_charged);
  ToRecord(r.late_fee_charged_amount, out->mutable_late_fee_charged_amount());
  out->set_return_completed(r.return_completed);
  out->set_return_completed_at(ToNanos(r.return_completed_at));
  ToRecord(r.return_total_fee, out->mutable_return_total_fee());
  out->set_first_seen_at(ToNanos(r.first_seen_at));
  if (r.delivery.Known()) ToRecord(r.delivery, out->mutable_delivery());
  if (r.return_pickup.Known()) ToRecord(r.return_pickup, out->mutable_return_pickup());
  if (!with_timeline) return;
  for (const TimelineEntry& t : r.timeline) {
    state::TimelineRecord* rec = out->add_timeline();
    rec->set_event_id(t.event_id);
    rec->set_event_type(t.event_type);
    rec->set_at(ToNanos(t.at));
    rec->set_description(t.description);
    rec->set_stream(t.stream);
    rec->set_sequence(t.sequence);
  }
}

RentalView FromRecord(const state::RentalRecord& r) {
  RentalView v;
  v.rental_id = r.rental_id();
  v.customer_id = r.customer_id();
  v.book_id = r.book_id();
  v.book_title = r.book_title();
  v.days = r.days();
  v.requested = r.requested();
  v.requested_at = FromNanos(r.requested_at());
  v.rented = r.rented();
  v.rented_at = FromNanos(r.rented_at());
  v.due_at = FromNanos(r.due_at());
  v.rented_fee = FromRecord(r.rented_fee());
  if (r.has_base_fee()) {
    v.base_fee = FromRecord(r.base_fee());
    v.discount = FromRecord(r.discount());
  }
  v.tier = r.tier();
  v.discount_percent = r.discount_percent();
  v.failed = r.failed();
  v.failure_reason = r.failure_reason();
  v.refused = r.refused();
  v.returned = r.returned();
  v.returned_at = FromNanos(r.returned_at());
  v.returned_late_fee = FromRecord(r.returned_late_fee());
  v.cancelled = r.cancelled();
  v.cancelled_at = FromNanos(r.cancelled_at());
  v.payment_approved = r.payment_approved();
  v.payment_amount = FromRecord(r.payment_amount());
  v.payment_declined = r.payment_declined();
  v.refunded = FromRecord(r.refunded());
  v.late_fee_charged = r.late_fee_charged();
  v.late_fee_charged_amount = FromRecord(r.late_fee_charged_amount());
  v.return_completed = r.return_completed();
  v.return_completed_at = FromNanos(r.return_completed_at());
  v.return_total_fee = FromRecord(r.return_total_fee());
  v.first_seen_at = FromNanos(r.first_seen_at());
  if (r.has_delivery()) v.delivery = FromRecord(r.delivery());
  if (r.has_return_pickup()) v.return_pickup = FromRecord(r.return_pickup());
  v.timeline.reserve(r.timeline_size());
  for (const state::TimelineRecord& t : r.timeline()) {
    v.timeline.push_back({t.event_id(), t.event_type(), FromNanos(t.at()), t.description(),
                          t.stream(), t.sequence()});
  }
  return v;
}

void ToRecord(const BookView& b, state::BookRecord* out) {
  out->set_book_id(b.book_id);
  out->set_title(b.title);
  out->set_copies(b.copies);
  ToRecord(b.daily_fee, out->mutable_daily_fee());
  out->set_held(b.held);
  for (const std::string& id : b.applied_event_ids) out->add_applied_event_ids(id);
}

BookView FromRecord(const state::BookRecord& r) {
  BookView b;
  b.book_id = r.book_id();
  b.title = r.title();
  b.copies = r.copies();
  b.daily_fee = FromRecord(r.daily_fee());
  b.held = r.held();
  b.applied_event_ids.assign(r.applied_event_ids().begin(), r.applied_event_ids().end());
  return b;
}

std::string RentalKey(absl::string_view rental_id) { return absl::StrCat("r/", rental_id); }
std::string BookKey(absl::string_view book_id) { return absl::StrCat("b/", book_id); }

std::string CustomerPrefix(absl::string_view customer_id) {
  return absl::StrCat("c/", customer_id, absl::string_view("\0", 1));
}

// Newest first: the order-preserving unsigned form of the time, inverted.
std::string CustomerKey(const CustomerIndexKey& k) {
  const uint64_t ordered = static_cast<uint64_t>(ToNanos(k.sort_time)) ^ (uint64_t{1} << 63);
  return absl::StrCat(CustomerPrefix(k.customer_id), absl::StrFormat("%016x", ~ordered),
                      k.rental_id);
}

absl::Status Corrupt(absl::string_view key) {
  return absl::DataLossError(absl::StrCat("stored record ", key, " cannot be parsed"));
}

}  // namespace

absl::StatusOr<std::optional<RentalView>> RocksDbViewStore::LoadRental(
    absl::string_view rental_id) const {
  const std::string key = RentalKey(rental_id);
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<RentalView>();
  state::RentalRecord rec;
  if (!rec.ParseFromString(**raw)) return Corrupt(key);
  return std::optional<RentalView>(FromRecord(rec));
}

absl::StatusOr<std::optional<BookView>> RocksDbViewStore::LoadBook(
    absl::string_view book_id) const {
  const std::string key = BookKey(book_id);
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<BookView>();
  state::BookRecord rec;
  if (!rec.ParseFromString(**raw)) return Corrupt(key);
  return std::optional<BookView>(FromRecord(rec));
}

absl::Status RocksDbViewStore::Commit(const ProjectionCommit& commit) {
  rocksdb::WriteBatch batch;
  std::string buf;
  state::RentalRecord rec;
  for (const ProjectionCommit::RentalChange& change : commit.rentals) {
    rec.Clear();
    ToRecord(change.rental, /*with_timeline=*/true, &rec);
    rec.SerializeToString(&buf);
    batch.Put(RentalKey(change.rental.rental_id), buf);
    std::optional<CustomerIndexKey> key = IndexKeyOf(change.rental);
    if (change.previous_key.has_value() && !(key.has_value() && *key == *change.previous_key)) {
      batch.Delete(CustomerKey(*change.previous_key));
    }
    if (key.has_value()) {
      rec.clear_timeline();
      rec.SerializeToString(&buf);
      batch.Put(CustomerKey(*key), buf);
    }
  }
  state::BookRecord book;
  for (const BookView& b : commit.books) {
    book.Clear();
    ToRecord(b, &book);
    book.SerializeToString(&buf);
    batch.Put(BookKey(b.book_id), buf);
  }
  if (!commit.stream.empty())
    rocksdb_store::StateStore::PutPosition(batch, commit.stream, commit.position);
  return store_.Write(batch);
}

absl::StatusOr<std::vector<RentalView>> RocksDbViewStore::ListCustomerRentals(
    absl::string_view customer_id, const std::optional<CustomerIndexKey>& after, int limit) const {
  std::vector<RentalView> out;
  if (limit <= 0) return out;
  const std::string prefix = CustomerPrefix(customer_id);
  const std::string start = after.has_value() ? CustomerKey(*after) : std::string();
  bool corrupt = false;
  out.reserve(limit);
  state::RentalRecord rec;  // reused: its sub-messages are allocated once per scan
  absl::Status scanned =
      store_.Scan(prefix, start, [&](absl::string_view, absl::string_view value) {
        if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          corrupt = true;
          return false;
        }
        out.push_back(FromRecord(rec));
        return static_cast<int>(out.size()) < limit;
      });
  if (!scanned.ok()) return scanned;
  if (corrupt) return Corrupt(prefix);
  return out;
}

absl::StatusOr<std::vector<BookView>> RocksDbViewStore::ListBooks(absl::string_view after_book_id,
                                                                  int limit) const {
  std::vector<BookView> out;
  if (limit <= 0) return out;
  const std::string start = after_book_id.empty() ? std::string() : BookKey(after_book_id);
  bool corrupt = false;
  absl::Status scanned = store_.Scan("b/", start, [&](absl::string_view, absl::string_view value) {
    state::BookRecord rec;
    if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      corrupt = true;
      return false;
    }
    out.push_back(FromRecord(rec));
    return static_cast<int>(out.size()) < limit;
  });
  if (!scanned.ok()) return scanned;
  if (corrupt) return Corrupt("b/");
  return out;
}

absl::StatusOr<uint64_t> RocksDbViewStore::Position(absl::string_view stream) const {
  return store_.GetPosition(stream);
}

}  // namespace rentmesh::view
