#include "adapters/outbound/rocksdb/rocksdb_due_timers.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/proto/notification_mapping.h"
#include "rentmesh/events/envelope.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {
namespace {

std::string TimerKey(absl::string_view rental_id) { return absl::StrCat("tm/", rental_id); }

std::string MarkKey(NotificationKind kind, absl::string_view rental_id) {
  return absl::StrCat("ds/", static_cast<int>(kind), "/", rental_id);
}

constexpr char kIndexPrefix[] = "dq/";

std::string IndexKey(absl::Time at, absl::string_view rental_id) {
  int64_t us = absl::ToUnixMicros(at);
  if (us < 0) us = 0;
  return absl::StrFormat("%s%020d/%s", kIndexPrefix, us, rental_id);
}

}  // namespace

absl::StatusOr<std::optional<DueTimer>> RocksDbDueTimers::Load(const std::string& rental_id) const {
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(TimerKey(rental_id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<DueTimer>();
  v1::DueReminder p;
  if (!p.ParseFromString(**raw)) {
    return absl::DataLossError(absl::StrCat("stored timer of ", rental_id, " does not parse"));
  }
  DueTimer t;
  t.rental_id = p.rental_id();
  t.customer_id = p.customer_id();
  t.book_id = p.book_id();
  t.book_title = p.book_title();
  t.due_at = events::FromProtoTime(p.due_at());
  for (NotificationKind kind : {NotificationKind::kDueSoon, NotificationKind::kOverdue}) {
    absl::StatusOr<std::optional<std::string>> mark = store_.Get(MarkKey(kind, rental_id));
    if (!mark.ok()) return mark.status();
    (kind == NotificationKind::kDueSoon ? t.due_soon_scheduled : t.overdue_scheduled) =
        mark->has_value();
  }
  return std::optional<DueTimer>(t);
}

absl::Status RocksDbDueTimers::ApplyRental(const std::vector<nats::StreamMessage>& batch) {
  if (batch.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<uint64_t> applied = AppliedPosition();
  if (!applied.ok()) return applied.status();
  if (batch.back().sequence <= *applied) return absl::OkStatus();
  rocksdb::WriteBatch wb;
  for (const nats::StreamMessage& m : batch) {
    if (m.sequence <= *applied) continue;
    absl::StatusOr<events::v1::Envelope> e = events::ParseTrustedEnvelope(m);
    if (!e.ok()) continue;
    std::string rental_id;
    if (e->has_book_rented()) {
      const auto& r = e->book_rented();
      if (r.rental_id().empty() || !r.has_due_at()) continue;
      v1::DueReminder p;
      p.set_rental_id(r.rental_id());
      p.set_customer_id(r.customer_id());
      p.set_book_id(r.book_id());
      p.set_book_title(r.book_title());
      *p.mutable_due_at() = r.due_at();
      // A batch is small: write through so the index sees this timer.
      rocksdb::WriteBatch one;
      one.Put(TimerKey(r.rental_id()), p.SerializeAsString());
      if (absl::Status s = store_.Write(one); !s.ok()) return s;
      absl::StatusOr<std::optional<DueTimer>> t = Load(r.rental_id());
      if (!t.ok()) return t.status();
      const absl::Time next = NextReminderAt(**t, window_);
      if (next != absl::InfiniteFuture()) wb.Put(IndexKey(next, r.rental_id()), "");
      continue;
    }
    if (e->has_book_returned()) rental_id = e->book_returned().rental_id();
    if (e->has_rental_cancelled()) rental_id = e->rental_cancelled().rental_id();
    if (rental_id.empty()) continue;
    absl::StatusOr<std::optional<DueTimer>> t = Load(rental_id);
    if (!t.ok()) return t.status();
    if (!t->has_value()) continue;
    const absl::Time next = NextReminderAt(**t, window_);
    if (next != absl::InfiniteFuture()) wb.Delete(IndexKey(next, rental_id));
    wb.Delete(TimerKey(rental_id));
  }
  rocksdb_store::StateStore::PutPosition(wb, kPosition, batch.back().sequence);
  return store_.Write(wb);
}

absl::StatusOr<std::vector<DueTimer>> RocksDbDueTimers::DueBy(absl::Time until,
                                                              size_t limit) const {
  absl::MutexLock lock(&mu_);
  const std::string end = IndexKey(until, "\xff");
  std::vector<std::string> rentals;
  absl::Status s = store_.Scan(kIndexPrefix, "", [&](absl::string_view key, absl::string_view) {
    if (key > end || rentals.size() >= limit) return false;
    const size_t slash = key.find('/', sizeof(kIndexPrefix) - 1);
    rentals.emplace_back(key.substr(slash + 1));
    return true;
  });
  if (!s.ok()) return s;
  std::vector<DueTimer> out;
  for (const std::string& rental : rentals) {
    absl::StatusOr<std::optional<DueTimer>> t = Load(rental);
    if (!t.ok()) return t.status();
    if (t->has_value()) out.push_back(**t);
  }
  return out;
}

absl::StatusOr<bool> RocksDbDueTimers::IsOpen(const std::string& rental_id) const {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(TimerKey(rental_id));
  if (!raw.ok()) return raw.status();
  return raw->has_value();
}

absl::Status RocksDbDueTimers::MarkScheduled(const std::string& rental_id, NotificationKind kind) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<DueTimer>> t = Load(rental_id);
  if (!t.ok()) return t.status();
  rocksdb::WriteBatch wb;
  wb.Put(MarkKey(kind, rental_id), "");
  if (t->has_value()) {
    DueTimer after = **t;
    (kind == NotificationKind::kDueSoon ? after.due_soon_scheduled : after.overdue_scheduled) =
        true;
    const absl::Time before_at = NextReminderAt(**t, window_);
    const absl::Time after_at = NextReminderAt(after, window_);
    if (before_at != after_at) {
      if (before_at != absl::InfiniteFuture()) wb.Delete(IndexKey(before_at, rental_id));
      if (after_at != absl::InfiniteFuture()) wb.Put(IndexKey(after_at, rental_id), "");
    }
  }
  return store_.Write(wb);
}

}  // namespace rentmesh::notification
