#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "rental/core/ports/rental_state.h"
#include "rentmesh/nats/jetstream.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::rental {

// This replica's books and rentals in RocksDB, kept by applying the RENTAL
// stream. Keys:
//   book/<book_id>                      rentmesh.rental.v1.Book (version 0: no
//                                       book, only the subject's last sequence)
//   rental/<rental_id>                  rentmesh.rental.v1.Rental
//   pending/<requested_at_us>/<rental>  reservations awaiting payment
//   holdexp/<expires_at_us>/<hold>      holds still HELD, by expiry
//   holds/<token>/<hold>                every hold of a customer (by its token)
//   stockreq/<book_id>/<request_id>     BookStocked requests applied
//   customer/<token>                    rentmesh.rental.v1.CustomerTier (version
//                                       0: only the subject's last sequence)
//   tierreq/<token>/<request_id>        tier set by that request (applied)
//   pos/RENTAL                          last stream sequence applied
// The consistency_token stored with a record is its last event's position.
class RocksDbRentalState final : public RentalState {
 public:
  static constexpr char kPositionName[] = "RENTAL";

  // Told of every message the fold sets aside: `event_type` ("" when not an
  // event) and `reason` (a rules::VerdictName, or "not_an_event",
  // "foreign_producer", "unknown_type", "wrong_subject").
  using IgnoredFn = std::function<void(absl::string_view event_type, absl::string_view reason)>;

  explicit RocksDbRentalState(rocksdb_store::StateStore& store, IgnoredFn on_ignored = nullptr)
      : store_(store), on_ignored_(std::move(on_ignored)) {}

  // Applies consecutive stream messages and the new position in one batch.
  // Each event takes effect only where the stream's rules say it applies
  // (domain::Fold); the rest, and messages that are not our events, change
  // nothing but the subject's last sequence, and are counted and logged.
  absl::Status Apply(const std::vector<nats::StreamMessage>& batch);
  absl::StatusOr<uint64_t> AppliedPosition() const;

  // RentalState
  absl::StatusOr<std::optional<domain::Book>> GetBook(const std::string& book_id) override;
  absl::StatusOr<uint64_t> SubjectPosition(const std::string& book_id) override;
  absl::StatusOr<std::optional<domain::Rental>> GetRental(const std::string& rental_id) override;
  absl::StatusOr<bool> HasStockRequest(const std::string& book_id,
                                       const std::string& request_id) override;
  absl::StatusOr<domain::CustomerTier> GetCustomerTier(const std::string& customer_id) override;
  absl::StatusOr<std::optional<std::string>> TierRequest(const std::string& customer_id,
                                                         const std::string& request_id) override;
  absl::StatusOr<std::vector<domain::Book>> ListBooks(const std::string& after_book_id,
                                                      int limit) override;
  absl::StatusOr<std::vector<domain::Rental>> PendingRentals(absl::Time before, int limit) override;
  absl::StatusOr<std::vector<domain::Rental>> LapsedHolds(absl::Time before, int limit) override;
  absl::StatusOr<std::vector<domain::Book>> BooksWithWaiting(int limit) override;
  absl::StatusOr<std::vector<domain::Rental>> CustomerHolds(const std::string& customer_id,
                                                            int limit) override;

 private:
  // The stored record of the book's subject: a Book, or one of version 0.
  absl::StatusOr<domain::Book> LoadBookRecord(const std::string& book_id);
  // Fills book.waiting from its stored list.
  absl::Status LoadWaiting(domain::Book& book);
  // The stored record of a customer subject (by its token).
  absl::StatusOr<domain::CustomerTier> LoadCustomerRecord(absl::string_view token);
  // Folds one message of a customer's subject.
  absl::Status ApplyCustomerMessage(
      const nats::StreamMessage& msg,
      absl::flat_hash_map<std::string, domain::CustomerTier>& customers,
      absl::flat_hash_set<std::string>& tier_requests, rocksdb::WriteBatch& wb);
  // The rentals named by the last path segment of the keys under `prefix`
  // (before `bound` when not empty) that `keep` accepts, at most `limit`.
  absl::StatusOr<std::vector<domain::Rental>> RentalsIndexed(
      const std::string& prefix, const std::string& bound, int limit,
      const std::function<bool(const domain::Rental&)>& keep);
  void Ignored(const nats::StreamMessage& msg, absl::string_view event_type,
               absl::string_view reason, absl::string_view detail);

  rocksdb_store::StateStore& store_;
  const IgnoredFn on_ignored_;
};

}  // namespace rentmesh::rental
