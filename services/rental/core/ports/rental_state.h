#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rental/core/domain/rental_domain.h"

namespace rentmesh::rental {

// This replica's view of the books and rentals, as applied from the log so far
// (it may lag the log; callers catch up through BookLog where it matters).
class RentalState {
 public:
  virtual ~RentalState() = default;

  // nullopt when unknown here.
  virtual absl::StatusOr<std::optional<domain::Book>> GetBook(const std::string& book_id) = 0;
  // The stream position of the last message on the book's subject, whether or
  // not it took effect (0: none): the expected sequence of the next append.
  virtual absl::StatusOr<uint64_t> SubjectPosition(const std::string& book_id) = 0;
  virtual absl::StatusOr<std::optional<domain::Rental>> GetRental(const std::string& rental_id) = 0;
  // True when a BookStocked with this request id was applied to the book.
  virtual absl::StatusOr<bool> HasStockRequest(const std::string& book_id,
                                               const std::string& request_id) = 0;
  // The customer's tier record; a default one (version 0, last_position the
  // subject's last sequence) when no tier was set.
  virtual absl::StatusOr<domain::CustomerTier> GetCustomerTier(const std::string& customer_id) = 0;
  // The tier a SetCustomerTier with this request id set, if it was applied.
  virtual absl::StatusOr<std::optional<std::string>> TierRequest(const std::string& customer_id,
                                                                 const std::string& request_id) = 0;
  // Books in id order after `after_book_id` (exclusive), at most `limit`.
  virtual absl::StatusOr<std::vector<domain::Book>> ListBooks(const std::string& after_book_id,
                                                              int limit) = 0;
  // Rentals still PENDING_PAYMENT whose reservation is older than `before`.
  virtual absl::StatusOr<std::vector<domain::Rental>> PendingRentals(absl::Time before,
                                                                     int limit) = 0;
  // Holds still HELD whose expiry is before `before`, earliest first.
  virtual absl::StatusOr<std::vector<domain::Rental>> LapsedHolds(absl::Time before, int limit) = 0;
  // Books whose waiting list is not empty, in id order, at most `limit`.
  virtual absl::StatusOr<std::vector<domain::Book>> BooksWithWaiting(int limit) = 0;
  // The customer's holds in every status (converted ones with their rental's),
  // at most `limit`.
  virtual absl::StatusOr<std::vector<domain::Rental>> CustomerHolds(const std::string& customer_id,
                                                                    int limit) = 0;
};

}  // namespace rentmesh::rental
