#include "adapters/outbound/rocksdb/rocksdb_notification_store.h"

#include <limits>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/proto/notification_mapping.h"
#include "rentmesh/common/log.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {
namespace {

constexpr size_t kSeqDigits = 20;

std::string CustomerPrefix(absl::string_view customer_id) {
  return absl::StrCat("c/", absl::BytesToHexString(customer_id), "/");
}

std::string Inverted(uint64_t sequence) {
  return absl::StrFormat("%020u", std::numeric_limits<uint64_t>::max() - sequence);
}

bool IsPageToken(absl::string_view token) {
  if (token.size() != kSeqDigits) return false;
  for (char c : token) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::Status RocksDbNotificationStore::Apply(const std::vector<nats::StreamMessage>& batch) {
  rocksdb::WriteBatch wb;
  // Ids written by this batch (not readable from the store yet).
  std::set<std::string> seen;
  uint64_t last = 0;
  for (const nats::StreamMessage& m : batch) {
    last = m.sequence;
    if (absl::StartsWith(m.subject, "notification.due.")) {
      v1::DueReminder r;
      if (due_timers_ != nullptr && r.ParseFromString(m.data) && !r.rental_id().empty()) {
        // Before the position is written: a crash replays the mark (harmless).
        if (absl::Status s = due_timers_->MarkScheduled(r.rental_id(), FromProto(r.kind()));
            !s.ok()) {
          return s;
        }
      }
      continue;
    }
    v1::Notification n;
    if (!n.ParseFromString(m.data) || n.notification_id().empty() || n.customer_id().empty()) {
      ++skipped_;
      LogWarn("skipped a message that is no notification",
              {{"subject", m.subject}, {"sequence", absl::StrCat(m.sequence)}});
      continue;
    }
    const std::string key = absl::StrCat("n/", n.notification_id());
    bool known = seen.count(n.notification_id()) > 0;
    if (!known) {
      absl::StatusOr<std::optional<std::string>> existing = store_.Get(key);
      if (!existing.ok()) return existing.status();
      known = existing->has_value();
    }
    if (known) {
      ++skipped_;
      continue;
    }
    seen.insert(n.notification_id());
    const std::string body = n.SerializeAsString();
    wb.Put(key, body);
    wb.Put(absl::StrCat(CustomerPrefix(n.customer_id()), Inverted(m.sequence)), body);
  }
  if (batch.empty()) return absl::OkStatus();
  rocksdb_store::StateStore::PutPosition(wb, kPosition, last);
  return store_.Write(wb);
}

absl::StatusOr<std::optional<Notification>> RocksDbNotificationStore::Get(
    absl::string_view notification_id) const {
  absl::StatusOr<std::optional<std::string>> raw = store_.Get(absl::StrCat("n/", notification_id));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Notification>();
  v1::Notification n;
  if (!n.ParseFromString(**raw)) {
    return absl::DataLossError(
        absl::StrCat("stored notification ", notification_id, " does not parse"));
  }
  return std::optional<Notification>(FromProto(n));
}

absl::StatusOr<NotificationHistory::Page> RocksDbNotificationStore::List(
    absl::string_view customer_id, int page_size, absl::string_view page_token) const {
  if (!page_token.empty() && !IsPageToken(page_token)) {
    return absl::InvalidArgumentError("page_token is not one this service gave out");
  }
  const std::string prefix = CustomerPrefix(customer_id);
  const std::string start_after = page_token.empty() ? "" : absl::StrCat(prefix, page_token);
  NotificationHistory::Page page;
  absl::Status parse = absl::OkStatus();
  std::string last_key;
  bool more = false;
  absl::Status s =
      store_.Scan(prefix, start_after, [&](absl::string_view key, absl::string_view value) {
        if (static_cast<int>(page.notifications.size()) == page_size) {
          more = true;
          return false;
        }
        v1::Notification n;
        if (!n.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse = absl::DataLossError(absl::StrCat("stored notification ", key, " does not parse"));
          return false;
        }
        page.notifications.push_back(FromProto(n));
        last_key = std::string(key);
        return true;
      });
  if (!s.ok()) return s;
  if (!parse.ok()) return parse;
  if (more) page.next_page_token = last_key.substr(prefix.size());
  return page;
}

}  // namespace rentmesh::notification
