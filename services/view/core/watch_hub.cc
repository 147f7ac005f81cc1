#include "core/watch_hub.h"

#include <vector>

namespace rentmesh::view {

uint64_t WatchHub::Subscribe(absl::string_view customer_id, MyPageSink& sink) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    sink.OnClose(absl::UnavailableError("the view is shutting down"));
    return 0;
  }
  const uint64_t id = next_id_++;
  by_id_.emplace(id, Entry{std::string(customer_id), &sink});
  by_customer_.emplace(std::string(customer_id), id);
  return id;
}

void WatchHub::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto range = by_customer_.equal_range(it->second.customer_id);
  for (auto c = range.first; c != range.second; ++c) {
    if (c->second == id) {
      by_customer_.erase(c);
      break;
    }
  }
  by_id_.erase(it);
}

void WatchHub::Publish(const MyPageChange& change) {
  absl::MutexLock lock(&mu_);
  auto range = by_customer_.equal_range(change.rental.customer_id);
  std::vector<uint64_t> dropped;
  for (auto c = range.first; c != range.second; ++c) {
    if (!by_id_.at(c->second).sink->OnChange(change)) dropped.push_back(c->second);
  }
  for (uint64_t id : dropped) {
    auto it = by_id_.find(id);
    auto r = by_customer_.equal_range(it->second.customer_id);
    for (auto c = r.first; c != r.second; ++c) {
      if (c->second == id) {
        by_customer_.erase(c);
        break;
      }
    }
    by_id_.erase(it);
  }
}

void WatchHub::CloseAll(const absl::Status& why) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (auto& [id, entry] : by_id_) entry.sink->OnClose(why);
  by_id_.clear();
  by_customer_.clear();
}

bool WatchHub::Watching(absl::string_view customer_id) const {
  absl::MutexLock lock(&mu_);
  return by_customer_.find(customer_id) != by_customer_.end();
}

size_t WatchHub::Watchers() const {
  absl::MutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace rentmesh::view
