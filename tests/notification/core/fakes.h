#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/ports/delivery_observer.h"
#include "core/ports/notification_channel.h"
#include "core/ports/notification_history.h"

namespace rentmesh::notification {

// An in-memory history, newest first, with failures to inject.
class InMemoryHistory final : public NotificationHistory {
 public:
  absl::StatusOr<std::optional<Notification>> Find(absl::string_view id) override {
    absl::MutexLock lock(&mu_);
    if (!find_error.ok()) return find_error;
    for (const Notification& n : records) {
      if (n.notification_id == id) return std::optional<Notification>(n);
    }
    return std::optional<Notification>();
  }
  absl::Status Record(const Notification& n) override {
    absl::MutexLock lock(&mu_);
    if (!record_error.ok()) return record_error;
    for (const Notification& r : records) {
      if (r.notification_id == n.notification_id) return absl::OkStatus();
    }
    records.push_back(n);
    return absl::OkStatus();
  }
  absl::StatusOr<Page> List(absl::string_view customer_id, int page_size,
                            absl::string_view page_token) override {
    absl::MutexLock lock(&mu_);
    size_t start = 0;
    if (!page_token.empty()) {
      if (!absl::SimpleAtoi(page_token, &start) || start > records.size()) {
        return absl::InvalidArgumentError("bad page_token");
      }
    }
    Page page;
    size_t i = start;
    for (; i < records.size(); ++i) {
      const Notification& n = records[records.size() - 1 - i];
      if (n.customer_id != customer_id) continue;
      if (static_cast<int>(page.notifications.size()) == page_size) {
        page.next_page_token = absl::StrCat(i);
        break;
      }
      page.notifications.push_back(n);
    }
    return page;
  }

  absl::Mutex mu_;
  std::vector<Notification> records;
  absl::Status find_error = absl::OkStatus();
  absl::Status record_error = absl::OkStatus();
};

// A channel that answers from a script (OK once it runs out) and keeps what
// it was sent.
class ScriptedChannel final : public NotificationChannel {
 public:
  explicit ScriptedChannel(std::string name) : name_(std::move(name)) {}
  absl::string_view name() const override { return name_; }
  absl::Status Send(const Notice& notice, const std::string& id,
                    const std::string& message) override {
    sent.push_back({notice.event_id, id, message});
    if (script.empty()) return absl::OkStatus();
    absl::Status s = script.front();
    script.erase(script.begin());
    return s;
  }
  struct Sent {
    std::string event_id, notification_id, message;
  };
  std::vector<Sent> sent;
  std::vector<absl::Status> script;

 private:
  std::string name_;
};

class CountingObserver final : public DeliveryObserver {
 public:
  void Sent(absl::string_view c) override { ++sent[std::string(c)]; }
  void Failed(absl::string_view c) override { ++failed[std::string(c)]; }
  void Retried(absl::string_view c) override { ++retried[std::string(c)]; }
  void Duplicate(absl::string_view c) override { ++duplicates[std::string(c)]; }
  std::map<std::string, int> sent, failed, retried, duplicates;
};

}  // namespace rentmesh::notification
