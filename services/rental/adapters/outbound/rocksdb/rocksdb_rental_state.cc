#include "rental/adapters/outbound/rocksdb/rocksdb_rental_state.h"

#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rental/adapters/mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::rental {
namespace {

constexpr char kStream[] = "RENTAL";

std::string BookKey(absl::string_view id) { return absl::StrCat("book/", id); }
std::string RentalKey(absl::string_view id) { return absl::StrCat("rental/", id); }
std::string PendingKey(const domain::Rental& r) {
  return absl::StrFormat("pending/%020d/%s", absl::ToUnixMicros(r.requested_at), r.rental_id);
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

absl::Status RocksDbRentalState::Apply(const std::vector<nats::StreamMessage>& batch) {
  // Records touched by this batch, so later events in it see earlier ones.
  absl::flat_hash_map<std::string, domain::Book> books;
  absl::flat_hash_map<std::string, domain::Rental> rentals;
  rocksdb::WriteBatch wb;

  for (const nats::StreamMessage& msg : batch) {
    absl::StatusOr<events::v1::Envelope> env = events::ParseEnvelope(msg);
    if (!env.ok()) {
      LogError("skipping a message that is not an event", {{"error", env.status().ToString()}});
      continue;
    }
    std::optional<domain::BookEvent> event = mapping::FromEnvelope(*env);
    if (!event.has_value()) continue;
    const absl::Time at = events::FromProtoTime(env->occurred_at());
    const std::string& book_id = domain::BookIdOf(*event);

    auto bit = books.find(book_id);
    if (bit == books.end()) {
      absl::StatusOr<std::optional<domain::Book>> stored = GetBook(book_id);
      if (!stored.ok()) return stored.status();
      bit = books.emplace(book_id, stored->value_or(domain::Book{})).first;
    }
    domain::ApplyToBook(bit->second, *event, msg.sequence, at);

    if (const auto* stocked = std::get_if<domain::BookStocked>(&*event)) {
      if (!stocked->request_id.empty()) {
        wb.Put(absl::StrCat("stockreq/", book_id, "/", stocked->request_id), "");
      }
    }
    std::string rental_id = domain::RentalIdOf(*event);
    if (rental_id.empty()) continue;
    auto rit = rentals.find(rental_id);
    if (rit == rentals.end()) {
      absl::StatusOr<std::optional<domain::Rental>> stored = GetRental(rental_id);
      if (!stored.ok()) return stored.status();
      rit = rentals.emplace(rental_id, stored->value_or(domain::Rental{})).first;
    }
    domain::Rental& r = rit->second;
    const bool was_pending = r.version > 0 && r.status == domain::RentalStatus::kPendingPayment;
    domain::ApplyToRental(r, *event, msg.sequence, at);
    const bool is_pending = r.status == domain::RentalStatus::kPendingPayment;
    if (is_pending && !was_pending) wb.Put(PendingKey(r), "");
    if (was_pending && !is_pending) wb.Delete(PendingKey(r));
  }

  for (const auto& [id, book] : books) {
    wb.Put(BookKey(id), mapping::ToProto(book, kStream).SerializeAsString());
  }
  for (const auto& [id, rental] : rentals) {
    wb.Put(RentalKey(id), mapping::ToProto(rental, kStream).SerializeAsString());
  }
  if (!batch.empty())
    rocksdb_store::StateStore::PutPosition(wb, kPositionName, batch.back().sequence);
  return store_.Write(wb);
}

absl::StatusOr<std::optional<domain::Book>> RocksDbRentalState::GetBook(
    const std::string& book_id) {
  std::string key = BookKey(book_id);
  absl::StatusOr<std::optional<std::string>> v = store_.Get(key);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<domain::Book>();
  rental::v1::Book proto;
  if (absl::Status s = ParseInto(**v, proto, key); !s.ok()) return s;
  return std::optional<domain::Book>(mapping::FromProto(proto));
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
                                 out.push_back(mapping::FromProto(proto));
                                 return static_cast<int>(out.size()) < limit;
                               });
  if (!s.ok()) return s;
  if (!parse_error.ok()) return parse_error;
  return out;
}

absl::StatusOr<std::vector<domain::Rental>> RocksDbRentalState::PendingRentals(absl::Time before,
                                                                               int limit) {
  std::vector<std::string> ids;
  const std::string bound = absl::StrFormat("pending/%020d/", absl::ToUnixMicros(before));
  absl::Status s = store_.Scan("pending/", "", [&](absl::string_view key, absl::string_view) {
    if (key >= bound) return false;
    ids.emplace_back(key.substr(key.rfind('/') + 1));
    return static_cast<int>(ids.size()) < limit;
  });
  if (!s.ok()) return s;
  std::vector<domain::Rental> out;
  for (const auto& id : ids) {
    absl::StatusOr<std::optional<domain::Rental>> r = GetRental(id);
    if (!r.ok()) return r.status();
    if (r->has_value() && (*r)->status == domain::RentalStatus::kPendingPayment) out.push_back(**r);
  }
  return out;
}

}  // namespace rentmesh::rental
