#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rentmesh::rocksdb_store {

// The one translation of RocksDB errors (busy/timeouts are UNAVAILABLE, the
// rest INTERNAL or DATA_LOSS for corruption).
absl::Status FromRocksStatus(const rocksdb::Status& s, absl::string_view what);

// An instance's local state: aggregates, projections, stream positions and
// idempotency records, all rebuildable from JetStream. Writes skip fsync (the
// stream is the system of record); batches are atomic.
class StateStore {
 public:
  // Opens or creates the database in `dir`.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir);

  // nullopt when the key is absent.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const;
  absl::Status Write(rocksdb::WriteBatch& batch);
  // Makes everything written so far durable (writes skip the WAL): flushes
  // the memtables to SST files. A rebuild calls it now and then so that a
  // crash resumes from there instead of from the start.
  absl::Status Flush();
  // Calls `fn` for each key starting with `prefix`, in key order, from
  // `start_after` (exclusive; empty = from the first) until `fn` returns false.
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;

  // Calls `fn` for every key of the store in key order as of one moment (a
  // RocksDB snapshot taken when it starts): writes made meanwhile are not
  // seen, so the keys and the stored positions agree. Does not fill the
  // block cache (a full pass would evict what the requests read). Stops when
  // `fn` returns false.
  absl::Status ScanConsistent(
      const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;
  // True when the store holds no key at all.
  absl::StatusOr<bool> Empty() const;
  // Deletes every key and flushes: for a restore that stopped half-way, so
  // that a rebuild starts from an empty store.
  absl::Status Clear();

  // A stream position stored under "pos/<name>" (0 when absent).
  absl::StatusOr<uint64_t> GetPosition(absl::string_view name) const;
  static void PutPosition(rocksdb::WriteBatch& batch, absl::string_view name, uint64_t position);

  // For metrics: a RocksDB integer property ("rocksdb.live-sst-files-size", ...); 0 when
  // unknown.
  uint64_t IntProperty(const std::string& name) const;

 private:
  explicit StateStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace rentmesh::rocksdb_store
