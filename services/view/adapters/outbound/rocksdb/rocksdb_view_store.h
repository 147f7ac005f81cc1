#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ports/view_store.h"
#include "rentmesh/rocksdb/state_store.h"

namespace rentmesh::view {

// ViewStore on the instance's RocksDB. Layout:
//   r/<rental_id>    the rental with its timeline
//   c/<customer_id>\0<16 hex: newest first><rental_id>
//                    the rental without its timeline: a page is one prefix scan
//                    (rewritten with the rental; cheaper to read than to keep
//                    an empty index entry and fetch each row)
//   b/<book_id>      a catalog line
//   pos/<stream>     applied position (StateStore)
// Values are the private protobuf records of view_state.proto.
class RocksDbViewStore final : public ViewStore {
 public:
  explicit RocksDbViewStore(rocksdb_store::StateStore& store) : store_(store) {}

  // ViewStore
  absl::StatusOr<std::optional<RentalView>> LoadRental(absl::string_view rental_id) const override;
  absl::StatusOr<std::optional<BookView>> LoadBook(absl::string_view book_id) const override;
  absl::Status Commit(const ProjectionCommit& commit) override;
  absl::StatusOr<std::vector<RentalView>> ListCustomerRentals(
      absl::string_view customer_id, const std::optional<CustomerIndexKey>& after,
      int limit) const override;
  absl::StatusOr<std::vector<BookView>> ListBooks(absl::string_view after_book_id,
                                                  int limit) const override;
  absl::StatusOr<uint64_t> Position(absl::string_view stream) const override;

 private:
  rocksdb_store::StateStore& store_;
};

}  // namespace rentmesh::view
