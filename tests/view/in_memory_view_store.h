#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/ports/view_store.h"

namespace rentmesh::view {

// ViewStore in memory, for unit tests of the core. Same ordering contract as
// the RocksDB store: a customer's rentals newest first, ties by rental id.
class InMemoryViewStore final : public ViewStore {
 public:
  absl::StatusOr<std::optional<RentalView>> LoadRental(absl::string_view id) const override {
    absl::MutexLock lock(&mu_);
    auto it = rentals_.find(std::string(id));
    if (it == rentals_.end()) return std::optional<RentalView>();
    return std::optional<RentalView>(it->second);
  }
  absl::StatusOr<std::optional<BookView>> LoadBook(absl::string_view id) const override {
    absl::MutexLock lock(&mu_);
    auto it = books_.find(std::string(id));
    if (it == books_.end()) return std::optional<BookView>();
    return std::optional<BookView>(it->second);
  }
  absl::Status Commit(const ProjectionCommit& commit) override {
    absl::MutexLock lock(&mu_);
    if (fail_commits_) return absl::InternalError("disk full");
    for (const auto& c : commit.rentals) {
      rentals_[c.rental.rental_id] = c.rental;
      if (c.previous_key) index_.erase(Key(*c.previous_key));
      if (auto k = IndexKeyOf(c.rental)) index_[Key(*k)] = c.rental.rental_id;
    }
    for (const BookView& b : commit.books) books_[b.book_id] = b;
    positions_[commit.stream] = commit.position;
    ++commits_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<RentalView>> ListCustomerRentals(
      absl::string_view customer_id, const std::optional<CustomerIndexKey>& after,
      int limit) const override {
    absl::MutexLock lock(&mu_);
    std::vector<RentalView> out;
    auto it = after ? index_.upper_bound(Key(*after))
                    : index_.lower_bound(IndexKey{std::string(customer_id),
                                                  std::numeric_limits<int64_t>::min(), ""});
    for (; it != index_.end() && std::get<0>(it->first) == customer_id &&
           static_cast<int>(out.size()) < limit;
         ++it) {
      RentalView r = rentals_.at(it->second);
      r.timeline.clear();
      out.push_back(std::move(r));
    }
    return out;
  }
  absl::StatusOr<std::vector<BookView>> ListBooks(absl::string_view after,
                                                  int limit) const override {
    absl::MutexLock lock(&mu_);
    std::vector<BookView> out;
    for (auto it = books_.upper_bound(std::string(after));
         it != books_.end() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  absl::StatusOr<uint64_t> Position(absl::string_view stream) const override {
    absl::MutexLock lock(&mu_);
    auto it = positions_.find(std::string(stream));
    return it == positions_.end() ? 0 : it->second;
  }

  void FailCommits(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_commits_ = fail;
  }
  int commits() const {
    absl::MutexLock lock(&mu_);
    return commits_;
  }

 private:
  // (customer, -time, rental id): ascending order is newest first.
  using IndexKey = std::tuple<std::string, int64_t, std::string>;
  static IndexKey Key(const CustomerIndexKey& k) {
    return {k.customer_id, -absl::ToUnixNanos(k.sort_time), k.rental_id};
  }

  mutable absl::Mutex mu_;
  std::map<std::string, RentalView> rentals_;
  std::map<std::string, BookView> books_;
  std::map<IndexKey, std::string> index_;
  std::map<std::string, uint64_t> positions_;
  bool fail_commits_ = false;
  int commits_ = 0;
};

}  // namespace rentmesh::view
