#pragma once

#include <functional>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/applied_positions.h"
#include "core/domain/book_view.h"
#include "core/domain/rental_view.h"
#include "rentmesh/rules/rental_stream_rules.h"
#include "core/domain/view_event.h"
#include "core/ports/view_store.h"
#include "core/watch_hub.h"

namespace rentmesh::view {

// The view's use cases: apply batches of events from the followed streams to
// the projections, and answer the queries from them.
//
// Applying is serialized (the followers of the four streams call ApplyBatch
// from their own threads; each read-modify-write of a rental must see the
// previous one). Queries read the store directly and never wait for applying.
class ViewService {
 public:
  static constexpr int kDefaultPageSize = 20;
  static constexpr int kMaxPageSize = 100;
  static constexpr size_t kMaxIdLength = 128;

  // `streams`: the names of the followed streams; their applied positions
  // are read from `store`.
  static absl::StatusOr<std::unique_ptr<ViewService>> Create(
      ViewStore& store, const std::vector<std::string>& streams);

  // Applies `events` (in stream order) and records `last_sequence` as the
  // stream's applied position, in one store commit; then pushes the changed
  // rentals to their watchers and releases the waiters it satisfies. An event
  // applied before (same event id) changes nothing, so replays and duplicates
  // are harmless. An error means the store could not be written.
  absl::Status ApplyBatch(absl::string_view stream, const std::vector<ViewEvent>& events,
                          uint64_t last_sequence);

  struct MyPage {
    std::vector<RentalView> rentals;  // newest first, timelines empty
    std::string next_page_token;      // empty on the last page
  };
  // INVALID_ARGUMENT for a bad customer id, a negative page size or a page
  // token this service did not issue. page_size 0 means 20; above 100 means 100.
  absl::StatusOr<MyPage> GetMyPage(absl::string_view customer_id, int page_size,
                                   absl::string_view page_token) const;
  // The rental with its timeline; NOT_FOUND when the projection does not know it.
  absl::StatusOr<RentalView> GetRentalStatus(absl::string_view rental_id) const;

  struct CatalogPage {
    std::vector<BookView> books;
    std::string next_page_token;
  };
  absl::StatusOr<CatalogPage> ListCatalog(int page_size, absl::string_view page_token) const;

  // Told of every event a projection sets aside (it does not apply to the
  // aggregate as folded so far, or is not one of our events). Set once,
  // before the followers start.
  using IgnoredFn = std::function<void(absl::string_view stream, absl::string_view event_type,
                                       absl::string_view reason)>;
  void SetIgnoredObserver(IgnoredFn fn) { on_ignored_ = std::move(fn); }
  void NoteIgnored(absl::string_view stream, absl::string_view event_type,
                   absl::string_view reason) const {
    if (on_ignored_) on_ignored_(stream, event_type, reason);
  }

  AppliedPositions& positions() { return *positions_; }
  WatchHub& watches() { return watches_; }

 private:
  ViewService(ViewStore& store, const std::map<std::string, uint64_t>& positions)
      : store_(store), positions_(std::make_unique<AppliedPositions>(positions)) {}

  // Whether a RENTAL-stream event applies to the book and rental as projected
  // so far: the same rules as the rental service's own fold.
  static rules::Verdict RentalStreamVerdict(const ViewEvent& e, const BookView& book,
                                            const RentalView& rental);

  IgnoredFn on_ignored_;

  // The first pages of customers read lately, dropped when a batch changes
  // one of their rentals: "my page" is read far more often than it changes.
  struct CachedPage {
    int limit = 0;
    MyPage page;
  };
  static constexpr size_t kMaxCachedPages = 10000;
  void ForgetPages(const std::vector<std::string>& customers) ABSL_LOCKS_EXCLUDED(cache_mu_);

  ViewStore& store_;
  std::unique_ptr<AppliedPositions> positions_;
  mutable absl::Mutex cache_mu_;
  mutable std::unordered_map<std::string, CachedPage> page_cache_ ABSL_GUARDED_BY(cache_mu_);
  // Bumped by every ForgetPages: a page read from the store is cached only if
  // no batch was applied meanwhile (it might be older than that batch).
  uint64_t cache_generation_ ABSL_GUARDED_BY(cache_mu_) = 0;
  WatchHub watches_;
  // Serializes ApplyBatch across the followers.
  absl::Mutex apply_mu_;
  // Rentals written lately, as committed: the next event of a rental (its
  // payment, its return) usually follows soon, and skips a store read.
  // Written only after a successful commit, read only by ApplyBatch.
  static constexpr size_t kMaxHotRentals = 20000;
  std::unordered_map<std::string, RentalView> hot_rentals_ ABSL_GUARDED_BY(apply_mu_);
  // The same for catalog lines: every rental start and end touches its book.
  static constexpr size_t kMaxHotBooks = 20000;
  std::unordered_map<std::string, BookView> hot_books_ ABSL_GUARDED_BY(apply_mu_);
};

// Validates an id from a request: INVALID_ARGUMENT when empty, longer than
// 128 characters or holding control characters.
absl::Status ValidateId(absl::string_view field, absl::string_view id);

}  // namespace rentmesh::view
