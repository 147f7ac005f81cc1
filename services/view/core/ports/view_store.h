#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/domain/book_view.h"
#include "core/domain/rental_view.h"

namespace rentmesh::view {

// What one applied batch changes, written atomically.
struct ProjectionCommit {
  struct RentalChange {
    RentalView rental;
    // Where the rental was listed in its customer's page before this batch
    // (nullopt if it was not): the store moves the entry.
    std::optional<CustomerIndexKey> previous_key;
  };
  std::vector<RentalChange> rentals;
  std::vector<BookView> books;
  // The stream and the last sequence the batch covers.
  std::string stream;
  uint64_t position = 0;
};

// The view's local state: rentals, each customer's newest-first index, the
// catalog and the applied position of every stream. Implementations are
// thread-safe; reads may run while a commit is written and see it whole or
// not at all.
class ViewStore {
 public:
  virtual ~ViewStore() = default;

  // nullopt when the rental is unknown.
  virtual absl::StatusOr<std::optional<RentalView>> LoadRental(
      absl::string_view rental_id) const = 0;
  virtual absl::StatusOr<std::optional<BookView>> LoadBook(absl::string_view book_id) const = 0;

  // Writes every change and the stream position together, or nothing.
  virtual absl::Status Commit(const ProjectionCommit& commit) = 0;

  // Up to `limit` rentals of `customer_id`, newest first, starting after
  // `after` (nullopt: from the newest). The rentals' timelines are left empty.
  virtual absl::StatusOr<std::vector<RentalView>> ListCustomerRentals(
      absl::string_view customer_id, const std::optional<CustomerIndexKey>& after,
      int limit) const = 0;

  // Up to `limit` books in book id order, after `after_book_id` (empty: from the first).
  virtual absl::StatusOr<std::vector<BookView>> ListBooks(absl::string_view after_book_id,
                                                          int limit) const = 0;

  // The last sequence of `stream` applied (0 when none).
  virtual absl::StatusOr<uint64_t> Position(absl::string_view stream) const = 0;
};

}  // namespace rentmesh::view
