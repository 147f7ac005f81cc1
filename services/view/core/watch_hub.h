#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/domain/rental_view.h"

namespace rentmesh::view {

// A change of one rental on a customer's page: its summary (no timeline) after
// a batch was applied, and the last event type that changed it.
struct MyPageChange {
  RentalView rental;
  std::string event_type;
};

// Receives the changes of one customer's rentals (the gRPC stream of a
// WatchMyPage call). Called with the hub's lock held: implementations must
// return at once and must not call back into the hub.
class MyPageSink {
 public:
  virtual ~MyPageSink() = default;
  // False: the sink gives up (its buffer is full) and is unsubscribed.
  virtual bool OnChange(const MyPageChange& change) = 0;
  // The hub is closing (shutdown): no further calls follow.
  virtual void OnClose(const absl::Status& why) = 0;
};

// Fans applied changes out to the watchers of each customer. Thread-safe.
class WatchHub {
 public:
  // The sink must stay alive until Unsubscribe returns or OnClose/OnChange
  // (returning false) was called. Returns an id for Unsubscribe; 0 when the
  // hub is closed (the sink then gets OnClose at once).
  uint64_t Subscribe(absl::string_view customer_id, MyPageSink& sink);
  // No call reaches the sink after this returns. Unknown ids are ignored.
  void Unsubscribe(uint64_t id);
  void Publish(const MyPageChange& change);
  // Whether anyone watches `customer_id` now (lets a publisher skip building
  // changes nobody reads).
  bool Watching(absl::string_view customer_id) const;
  // Ends every watch with `why` and refuses new ones.
  void CloseAll(const absl::Status& why);
  size_t Watchers() const;

 private:
  struct Entry {
    std::string customer_id;
    MyPageSink* sink;
  };
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, Entry> by_id_ ABSL_GUARDED_BY(mu_);
  std::multimap<std::string, uint64_t, std::less<>> by_customer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rentmesh::view
