#include "rentmesh/rocksdb/state_store.h"

#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/table.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::rocksdb_store {

absl::Status FromRocksStatus(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string text = absl::StrCat(what, ": ", s.ToString());
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(text);
  if (s.IsCorruption()) return absl::DataLossError(text);
  if (s.IsNotFound()) return absl::NotFoundError(text);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(text);
  return absl::InternalError(text);
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction();
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("open state store ", dir));
  return std::unique_ptr<StateStore>(new StateStore(std::unique_ptr<rocksdb::DB>(raw)));
}

absl::StatusOr<std::optional<std::string>> StateStore::Get(absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksStatus(s, "get");
  return std::optional<std::string>(std::move(value));
}

absl::Status StateStore::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return FromRocksStatus(db_->Flush(fo), "flush");
}

absl::Status StateStore::Write(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions wo;
  // No write-ahead log: a crash loses the last unflushed batches together
  // with the stream position stored in them, so the follower replays them
  // from the stream. A clean close flushes the memtables.
  wo.disableWAL = true;
  return FromRocksStatus(db_->Write(wo, &batch), "write");
}

absl::Status StateStore::Scan(
    absl::string_view prefix, absl::string_view start_after,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string start = start_after.empty() ? std::string(prefix) : std::string(start_after);
  it->Seek(start);
  if (!start_after.empty() && it->Valid() &&
      absl::string_view(it->key().data(), it->key().size()) == start_after)
    it->Next();
  for (; it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocksStatus(it->status(), "scan");
}

absl::Status StateStore::ScanConsistent(
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!fn(absl::string_view(it->key().data(), it->key().size()),
            absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocksStatus(it->status(), "consistent scan");
}

absl::StatusOr<bool> StateStore::Empty() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  if (absl::Status s = FromRocksStatus(it->status(), "empty"); !s.ok()) return s;
  return !it->Valid();
}

absl::Status StateStore::Clear() {
  std::string first, last;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) first = it->key().ToString();
    it->SeekToLast();
    if (it->Valid()) last = it->key().ToString();
    if (absl::Status s = FromRocksStatus(it->status(), "clear"); !s.ok()) return s;
    if (!it->Valid()) return absl::OkStatus();
  }
  rocksdb::WriteBatch batch;
  batch.DeleteRange(first, last);  // [first, last)
  batch.Delete(last);
  if (absl::Status s = Write(batch); !s.ok()) return s;
  if (absl::Status s = Flush(); !s.ok()) return s;
  // Drops the deleted keys' files, so a rebuild does not read past them.
  return FromRocksStatus(db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr),
                         "compact after clear");
}

absl::StatusOr<uint64_t> StateStore::GetPosition(absl::string_view name) const {
  absl::StatusOr<std::optional<std::string>> v = Get(absl::StrCat("pos/", name));
  if (!v.ok()) return v.status();
  if (!v->has_value()) return uint64_t{0};
  uint64_t pos = 0;
  if (!absl::SimpleAtoi(**v, &pos)) {
    return absl::DataLossError(absl::StrCat("stored position ", name, " is not a number"));
  }
  return pos;
}

void StateStore::PutPosition(rocksdb::WriteBatch& batch, absl::string_view name,
                             uint64_t position) {
  batch.Put(absl::StrCat("pos/", name), absl::StrCat(position));
}

uint64_t StateStore::IntProperty(const std::string& name) const {
  uint64_t n = 0;
  db_->GetIntProperty(name, &n);
  return n;
}

}  // namespace rentmesh::rocksdb_store
