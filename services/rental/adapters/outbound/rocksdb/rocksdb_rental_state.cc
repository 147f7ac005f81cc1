#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"

#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rental/adapters/mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental {
namespace {

constexpr char kStream[] = "RENTAL";
constexpr char kBookSubjectPrefix[] = "rental.book.";
constexpr char kCustomerSubjectPrefix[] = "rental.customer.";

absl::string_view Name(rules::Verdict v) {
  std::string_view name = rules::VerdictName(v);
  return absl::string_view(name.data(), name.size());
}

std::string BookKey(absl::string_view id) { return absl::StrCat("book/", id); }
std::string RentalKey(absl::string_view id) { return absl::StrCat("rental/", id); }
std::string CustomerKey(absl::string_view token) { return absl::StrCat("customer/", token); }
std::string TierRequestKey(absl::string_view token, absl::string_view request_id) {
  return absl::StrCat("tierreq/", token, "/", request_id);
}
std::string PendingKey(const domain::Rental& r) {
  return absl::StrFormat("pending/%020d/%s", absl::ToUnixMicros(r.requested_at), r.rental_id);
}

// Micros since the epoch, never negative (a hold stored without an expiry
// sorts first: it lapses at once).
int64_t SortableMicros(absl::Time t) { return std::max<int64_t>(0, absl::ToUnixMicros(t)); }
std::string HoldExpiryKey(const domain::Rental& r) {
  return absl::StrFormat("holdexp/%020d/%s", SortableMicros(r.hold_expires_at), r.rental_id);
}
// A book's waiting list: hold ids, oldest first, one a line (ids hold no
// spaces). Absent when nobody waits.
std::string WaitingKey(absl::string_view book_id) { return absl::StrCat("waitq/", book_id); }
std::string CustomerHoldsPrefix(absl::string_view customer_id) {
  return absl::StrCat("holds/", mapping::CustomerToken(customer_id), "/");
}

template <typename Proto>
absl::Status ParseInto(absl::string_view bytes, Proto& out, absl::string_view key) {
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("stored record ", key, " is corrupt"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> RocksDbRentalState::AppliedPosition() const {
  return store_.GetPosition(kPositionName);
}

void RocksDbRentalState::Ignored(const nats::StreamMessage& msg, absl::string_view event_type,
                                 absl::string_view reason, absl::string_view detail) {
  LogWarn("event set aside: it does not apply", {{"subject", msg.subject},
                                                 {"sequence", absl::StrCat(msg.sequence)},
                                                 {"event_type", std::string(event_type)},
                                                 {"reason", std::string(reason)},
                                                 {"detail", std::string(detail)}});
  if (on_ignored_) on_ignored_(event_type, reason);
}

absl::Status RocksDbRentalState::Apply(const std::vector<nats::StreamMessage>& batch) {
  // Records touched by this batch, so later events in it see earlier ones.
  absl::flat_hash_map<std::string, domain::Book> books;
  absl::flat_hash_map<std::string, domain::Rental> rentals;
  absl::flat_hash_set<std::string> stock_requests;
  absl::flat_hash_map<std::string, domain::CustomerTier> customers;
  absl::flat_hash_set<std::string> tier_requests;
  rocksdb::WriteBatch wb;

  for (const nats::StreamMessage& msg : batch) {
    if (absl::StartsWith(msg.subject, kCustomerSubjectPrefix)) {
      absl::Status s = ApplyCustomerMessage(msg, customers, tier_requests, wb);
      if (!s.ok()) return s;
      continue;
    }
    // Every message on a book's subject moves the subject's last sequence,
    // whatever it holds: the next append expects it.
    absl::string_view subject_book;
    if (absl::StartsWith(msg.subject, kBookSubjectPrefix)) {
      subject_book = absl::string_view(msg.subject).substr(sizeof(kBookSubjectPrefix) - 1);
    }
    domain::Book* book = nullptr;
    if (!subject_book.empty()) {
      auto bit = books.find(subject_book);
      if (bit == books.end()) {
        absl::StatusOr<domain::Book> stored = LoadBookRecord(std::string(subject_book));
        if (!stored.ok()) return stored.status();
        bit = books.emplace(std::string(subject_book), std::move(*stored)).first;
      }
      book = &bit->second;
      book->last_position = msg.sequence;
    }

    absl::StatusOr<events::v1::Envelope> env = events::ParseTrustedEnvelope(msg);
    if (!env.ok()) {
      Ignored(msg, msg.Header(events::kEventTypeHeader),
              absl::IsPermissionDenied(env.status()) ? "foreign_producer" : "not_an_event",
              env.status().message());
      continue;
    }
    std::optional<domain::BookEvent> event = mapping::FromEnvelope(*env);
    if (!event.has_value()) {
      Ignored(msg, env->event_type(), "unknown_type", "");
      continue;
    }
    if (book == nullptr || domain::BookIdOf(*event) != subject_book) {
      Ignored(msg, env->event_type(), "wrong_subject", domain::BookIdOf(*event));
      continue;
    }
    const absl::Time at = events::FromProtoTime(env->occurred_at());

    const auto* stocked = std::get_if<domain::BookStocked>(&*event);
    if (stocked != nullptr && !stocked->request_id.empty()) {
      const std::string key = absl::StrCat("stockreq/", subject_book, "/", stocked->request_id);
      absl::StatusOr<std::optional<std::string>> seen = store_.Get(key);
      if (!seen.ok()) return seen.status();
      if (seen->has_value() || stock_requests.contains(key)) {
        Ignored(msg, env->event_type(), Name(rules::Verdict::kDuplicate), "");
        continue;
      }
    }

    domain::Rental none;
    domain::Rental* rental = &none;
    std::string rental_id = domain::RentalIdOf(*event);
    if (!rental_id.empty()) {
      auto rit = rentals.find(rental_id);
      if (rit == rentals.end()) {
        absl::StatusOr<std::optional<domain::Rental>> stored = GetRental(rental_id);
        if (!stored.ok()) return stored.status();
        rit = rentals.emplace(rental_id, stored->value_or(domain::Rental{})).first;
      }
      rental = &rit->second;
    }
    const bool was_pending =
        rental->version > 0 && rental->status == domain::RentalStatus::kPendingPayment;
    const bool was_held = rental->version > 0 && rental->status == domain::RentalStatus::kHeld;
    const bool was_hold = rental->version > 0 && rental->is_hold();
    rules::Verdict verdict = domain::Fold(*book, *rental, *event, msg.sequence, at);
    if (verdict != rules::Verdict::kApplies) {
      Ignored(msg, env->event_type(), Name(verdict), rental_id);
      continue;
    }
    if (stocked != nullptr && !stocked->request_id.empty()) {
      std::string key = absl::StrCat("stockreq/", subject_book, "/", stocked->request_id);
      wb.Put(key, "");
      stock_requests.insert(std::move(key));
    }
    const bool is_pending = rental->status == domain::RentalStatus::kPendingPayment;
    if (is_pending && !was_pending) wb.Put(PendingKey(*rental), "");
    if (was_pending && !is_pending) wb.Delete(PendingKey(*rental));
    const bool is_held = rental->status == domain::RentalStatus::kHeld;
    if (is_held && !was_held) wb.Put(HoldExpiryKey(*rental), "");
    if (was_held && !is_held) wb.Delete(HoldExpiryKey(*rental));
    if (rental->is_hold() && !was_hold) {
      wb.Put(absl::StrCat(CustomerHoldsPrefix(rental->customer_id), rental->rental_id), "");
    }
  }

  for (const auto& [id, book] : books) {
    wb.Put(BookKey(id), mapping::ToProto(book, kStream).SerializeAsString());
    if (book.waiting.empty()) {
      wb.Delete(WaitingKey(id));
    } else {
      wb.Put(WaitingKey(id), absl::StrJoin(book.waiting, "\n"));
    }
  }
  for (const auto& [id, rental] : rentals) {
    if (rental.version == 0) continue;  // only ever named by events that did not apply
    wb.Put(RentalKey(id), mapping::ToProto(rental, kStream).SerializeAsString());
  }
  for (const auto& [token, customer] : customers) {
    wb.Put(CustomerKey(token), mapping::ToProto(customer, kStream).SerializeAsString());
  }
  if (!batch.empty())
    rocksdb_store::StateStore::PutPosition(wb, kPositionName, batch.back().sequence);
  return store_.Write(wb);
}

absl::Status RocksDbRentalState::ApplyCustomerMessage(
    const nats::StreamMessage& msg,
    absl::flat_hash_map<std::string, domain::CustomerTier>& customers,
    absl::flat_hash_set<std::string>& tier_requests, rocksdb::WriteBatch& wb) {
  // Every message on a customer's subject moves its last sequence.
  const std::string token(
      absl::string_view(msg.subject).substr(sizeof(kCustomerSubjectPrefix) - 1));
  auto cit = customers.find(token);
  if (cit == customers.end()) {
    absl::StatusOr<domain::CustomerTier> stored = LoadCustomerRecord(token);
    if (!stored.ok()) return stored.status();
    cit = customers.emplace(token, std::move(*stored)).first;
  }
  domain::CustomerTier& customer = cit->second;
  customer.last_position = msg.sequence;

  absl::StatusOr<events::v1::Envelope> env = events::ParseTrustedEnvelope(msg);
  if (!env.ok()) {
    Ignored(msg, msg.Header(events::kEventTypeHeader),
            absl::IsPermissionDenied(env.status()) ? "foreign_producer" : "not_an_event",
            env.status().message());
    return absl::OkStatus();
  }
  if (!env->has_customer_tier_set()) {
    Ignored(msg, env->event_type(), "unknown_type", "");
    return absl::OkStatus();
  }
  const events::v1::CustomerTierSet& p = env->customer_tier_set();
  if (mapping::CustomerToken(p.customer_id()) != token) {
    Ignored(msg, env->event_type(), "wrong_subject", p.customer_id());
    return absl::OkStatus();
  }
  const std::string request_key = TierRequestKey(token, p.request_id());
  if (!p.request_id().empty()) {
    absl::StatusOr<std::optional<std::string>> seen = store_.Get(request_key);
    if (!seen.ok()) return seen.status();
    if (seen->has_value() || tier_requests.contains(request_key)) {
      Ignored(msg, env->event_type(), Name(rules::Verdict::kDuplicate), p.customer_id());
      return absl::OkStatus();
    }
  }
  rules::Verdict v =
      domain::FoldTier(customer, {p.customer_id(), p.tier(), p.request_id(), p.set_by()},
                       msg.sequence, events::FromProtoTime(env->occurred_at()));
  if (v != rules::Verdict::kApplies) {
    Ignored(msg, env->event_type(), Name(v), p.customer_id());
    return absl::OkStatus();
  }
  if (!p.request_id().empty()) {
    wb.Put(request_key, p.tier());
    tier_requests.insert(request_key);
  }
  return absl::OkStatus();
}

absl::StatusOr<domain::CustomerTier> RocksDbRentalState::LoadCustomerRecord(
    absl::string_view token) {
  std::string key = CustomerKey(token);
  absl::StatusOr<std::optional<std::string>> v = store_.Get(key);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return domain::CustomerTier{};
  rental::v1::CustomerTier proto;
  if (absl::Status s = ParseInto(**v, proto, key); !s.ok()) return s;
  return mapping::FromProto(proto);
}

absl::StatusOr<domain::CustomerTier> RocksDbRentalState::GetCustomerTier(
    const std::string& customer_id) {
  absl::StatusOr<domain::CustomerTier> c = LoadCustomerRecord(mapping::CustomerToken(customer_id));
  if (!c.ok()) return c.status();
  c->customer_id = customer_id;
  return c;
}

absl::StatusOr<std::optional<std::string>> RocksDbRentalState::TierRequest(
    const std::string& customer_id, const std::string& request_id) {
  absl::StatusOr<std::optional<std::string>> v =
      store_.Get(TierRequestKey(mapping::CustomerToken(customer_id), request_id));
  if (!v.ok()) return v.status();
  return *v;
}

absl::StatusOr<domain::Book> RocksDbRentalState::LoadBookRecord(const std::string& book_id) {
  std::string key = BookKey(book_id);
  absl::StatusOr<std::optional<std::string>> v = store_.Get(key);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return domain::Book{};
  rental::v1::Book proto;
  if (absl::Status s = ParseInto(**v, proto, key); !s.ok()) return s;
  domain::Book book = mapping::FromProto(proto);
  if (absl::Status s = LoadWaiting(book); !s.ok()) return s;
  return book;
}

absl::Status RocksDbRentalState::LoadWaiting(domain::Book& book) {
  absl::StatusOr<std::optional<std::string>> w = store_.Get(WaitingKey(book.book_id));
  if (!w.ok()) return w.status();
  book.waiting.clear();
  if (w->has_value() && !(*w)->empty()) book.waiting = absl::StrSplit(**w, '\n');
  return absl::OkStatus();
}

absl::StatusOr<std::vector<domain::Book>> RocksDbRentalState::BooksWithWaiting(int limit) {
  std::vector<std::string> ids;
  absl::Status s = store_.Scan("waitq/", "", [&](absl::string_view key, absl::string_view) {
    ids.emplace_back(key.substr(sizeof("waitq/") - 1));
    return static_cast<int>(ids.size()) < limit;
  });
  if (!s.ok()) return s;
  std::vector<domain::Book> out;
  for (const std::string& id : ids) {
    absl::StatusOr<domain::Book> b = LoadBookRecord(id);
    if (!b.ok()) return b.status();
    if (b->version > 0 && !b->waiting.empty()) out.push_back(*std::move(b));
  }
  return out;
}

absl::StatusOr<uint64_t> RocksDbRentalState::SubjectPosition(const std::string& book_id) {
  absl::StatusOr<domain::Book> b = LoadBookRecord(book_id);
  if (!b.ok()) return b.status();
  return b->last_position;
}

absl::StatusOr<std::optional<domain::Book>> RocksDbRentalState::GetBook(
    const std::string& book_id) {
  absl::StatusOr<domain::Book> b = LoadBookRecord(book_id);
  if (!b.ok()) return b.status();
  if (b->version == 0) return std::optional<domain::Book>();
  return std::optional<domain::Book>(std::move(*b));
}

absl::StatusOr<std::optional<domain::Rental>> RocksDbRentalState::GetRental(
    const std::string& rental_id) {
  std::string key = RentalKey(rental_id);
  absl::StatusOr<std::optional<std::string>> v = store_.Get(key);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<domain::Rental>();
  rental::v1::Rental proto;
  if (absl::Status s = ParseInto(**v, proto, key); !s.ok()) return s;
  return std::optional<domain::Rental>(mapping::FromProto(proto));
}

absl::StatusOr<bool> RocksDbRentalState::HasStockRequest(const std::string& book_id,
                                                         const std::string& request_id) {
  absl::StatusOr<std::optional<std::string>> v =
      store_.Get(absl::StrCat("stockreq/", book_id, "/", request_id));
  if (!v.ok()) return v.status();
  return v->has_value();
}

absl::StatusOr<std::vector<domain::Book>> RocksDbRentalState::ListBooks(
    const std::string& after_book_id, int limit) {
  std::vector<domain::Book> out;
  absl::Status parse_error;
  absl::Status s = store_.Scan("book/", after_book_id.empty() ? "" : BookKey(after_book_id),
                               [&](absl::string_view key, absl::string_view value) {
                                 rental::v1::Book proto;
                                 parse_error = ParseInto(value, proto, key);
                                 if (!parse_error.ok()) return false;
                                 domain::Book book = mapping::FromProto(proto);
                                 parse_error = LoadWaiting(book);
                                 if (!parse_error.ok()) return false;
                                 if (book.version > 0) out.push_back(std::move(book));
                                 return static_cast<int>(out.size()) < limit;
                               });
  if (!s.ok()) return s;
  if (!parse_error.ok()) return parse_error;
  return out;
}

absl::StatusOr<std::vector<domain::Rental>> RocksDbRentalState::RentalsIndexed(
    const std::string& prefix, const std::string& bound, int limit,
    const std::function<bool(const domain::Rental&)>& keep) {
  std::vector<std::string> ids;
  absl::Status s = store_.Scan(prefix, "", [&](absl::string_view key, absl::string_view) {
    if (!bound.empty() && key >= bound) return false;
    ids.emplace_back(key.substr(key.rfind('/') + 1));
    return static_cast<int>(ids.size()) < limit;
  });
  if (!s.ok()) return s;
  std::vector<domain::Rental> out;
  for (const auto& id : ids) {
    absl::StatusOr<std::optional<domain::Rental>> r = GetRental(id);
    if (!r.ok()) return r.status();
    if (r->has_value() && keep(**r)) out.push_back(**r);
  }
  return out;
}

absl::StatusOr<std::vector<domain::Rental>> RocksDbRentalState::PendingRentals(absl::Time before,
                                                                               int limit) {
  return RentalsIndexed(
      "pending/", absl::StrFormat("pending/%020d/", absl::ToUnixMicros(before)), limit,
      [](const domain::Rental& r) { return r.status == domain::RentalStatus::kPendingPayment; });
}

absl::StatusOr<std::vector<domain::Rental>> RocksDbRentalState::LapsedHolds(absl::Time before,
                                                                            int limit) {
  return RentalsIndexed(
      "holdexp/", absl::StrFormat("holdexp/%020d/", SortableMicros(before)), limit,
      [](const domain::Rental& r) { return r.status == domain::RentalStatus::kHeld; });
}

absl::StatusOr<std::vector<domain::Rental>> RocksDbRentalState::CustomerHolds(
    const std::string& customer_id, int limit) {
  // Another customer's token can extend this one's prefix ("a" and "a/b"):
  // keep only this customer's.
  return RentalsIndexed(CustomerHoldsPrefix(customer_id), "", limit,
                        [&customer_id](const domain::Rental& r) {
                          return r.is_hold() && r.customer_id == customer_id;
                        });
}

}  // namespace rentmesh::rental
