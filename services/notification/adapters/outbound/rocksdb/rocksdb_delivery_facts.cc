#include "adapters/outbound/rocksdb/rocksdb_delivery_facts.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "rentmesh/events/envelope.h"

namespace rentmesh::notification {
namespace {

std::string RequestKey(absl::string_view delivery_id) { return absl::StrCat("df/r/", delivery_id); }
std::string TitleKey(absl::string_view rental_id) { return absl::StrCat("df/t/", rental_id); }
std::string CourierKey(absl::string_view courier_id) { return absl::StrCat("df/c/", courier_id); }

// Folds the messages of `batch` after `position` with `fold` (which adds to
// the write batch) and moves the position, in one write.
absl::Status ApplyAfter(
    rocksdb_store::StateStore& store, absl::string_view position,
    const std::vector<nats::StreamMessage>& batch,
    const std::function<void(const events::v1::Envelope&, rocksdb::WriteBatch&)>& fold) {
  if (batch.empty()) return absl::OkStatus();
  absl::StatusOr<uint64_t> applied = store.GetPosition(position);
  if (!applied.ok()) return applied.status();
  if (batch.back().sequence <= *applied) return absl::OkStatus();
  rocksdb::WriteBatch wb;
  for (const nats::StreamMessage& m : batch) {
    if (m.sequence <= *applied) continue;
    absl::StatusOr<events::v1::Envelope> e = events::ParseTrustedEnvelope(m);
    if (e.ok()) fold(*e, wb);
  }
  rocksdb_store::StateStore::PutPosition(wb, position, batch.back().sequence);
  return store.Write(wb);
}

absl::StatusOr<std::string> GetOrEmpty(const rocksdb_store::StateStore& store,
                                       const std::string& key) {
  absl::StatusOr<std::optional<std::string>> raw = store.Get(key);
  if (!raw.ok()) return raw.status();
  return raw->value_or("");
}

}  // namespace

absl::Status RocksDbDeliveryFacts::ApplyDelivery(const std::vector<nats::StreamMessage>& batch) {
  return ApplyAfter(store_, kDeliveryPosition, batch,
                    [](const events::v1::Envelope& e, rocksdb::WriteBatch& wb) {
                      if (e.has_delivery_requested()) {
                        const auto& p = e.delivery_requested();
                        if (p.delivery_id().empty() || p.customer_id().empty()) return;
                        wb.Put(RequestKey(p.delivery_id()), p.SerializeAsString());
                      } else if (e.has_courier_added()) {
                        const auto& p = e.courier_added();
                        if (p.courier_id().empty() || p.name().empty()) return;
                        wb.Put(CourierKey(p.courier_id()), p.name());
                      }
                    });
}

absl::Status RocksDbDeliveryFacts::ApplyRental(const std::vector<nats::StreamMessage>& batch) {
  return ApplyAfter(store_, kRentalPosition, batch,
                    [](const events::v1::Envelope& e, rocksdb::WriteBatch& wb) {
                      if (!e.has_book_rented()) return;
                      const auto& p = e.book_rented();
                      if (p.rental_id().empty() || p.book_title().empty()) return;
                      wb.Put(TitleKey(p.rental_id()), p.book_title());
                    });
}

absl::StatusOr<std::optional<DeliveryFacts>> RocksDbDeliveryFacts::Find(
    const std::string& delivery_id, const std::string& rental_id,
    const std::string& courier_id) const {
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(RequestKey(delivery_id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<DeliveryFacts>();
  events::v1::DeliveryRequested requested;
  if (!requested.ParseFromString(**raw)) {
    return absl::DataLossError(absl::StrCat("stored request of ", delivery_id, " does not parse"));
  }
  DeliveryFacts facts;
  facts.customer_id = requested.customer_id();
  facts.book_id = requested.book_id();
  absl::StatusOr<std::string> title =
      GetOrEmpty(store_, TitleKey(rental_id.empty() ? requested.rental_id() : rental_id));
  if (!title.ok()) return title.status();
  facts.book_title = *std::move(title);
  if (!courier_id.empty()) {
    absl::StatusOr<std::string> name = GetOrEmpty(store_, CourierKey(courier_id));
    if (!name.ok()) return name.status();
    facts.courier_name = *std::move(name);
  }
  return std::optional<DeliveryFacts>(std::move(facts));
}

}  // namespace rentmesh::notification
