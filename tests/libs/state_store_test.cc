#include "rentmesh/rocksdb/state_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rentmesh/testing/test_env.h"

namespace rentmesh::rocksdb_store {
namespace {

TEST(StateStoreTest, BatchWritesAreVisibleAndSurviveReopen) {
  testing::TempDir dir;
  {
    auto store = StateStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    batch.Put("a/1", "one");
    batch.Put("a/2", "two");
    batch.Put("b/1", "other");
    StateStore::PutPosition(batch, "RENTAL", 17);
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  auto store = StateStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  auto v = (*store)->Get("a/2");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "two");
  EXPECT_FALSE((*store)->Get("a/3")->has_value());
  EXPECT_EQ(*(*store)->GetPosition("RENTAL"), 17u);
  EXPECT_EQ(*(*store)->GetPosition("PAYMENT"), 0u);

  std::vector<std::string> keys;
  ASSERT_TRUE((*store)
                  ->Scan("a/", "",
                         [&](absl::string_view k, absl::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2"}));
  keys.clear();
  ASSERT_TRUE((*store)
                  ->Scan("a/", "a/1",
                         [&](absl::string_view k, absl::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/2"}));
}

// A process that writes positions 42 (then flushes, if asked) and 50 and
// dies without closing the store, as a crash would.
void CrashAfterWriting(const std::string& dir, bool flush_first) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = StateStore::Open(dir);
    if (!store.ok()) _exit(2);
    rocksdb::WriteBatch a;
    a.Put("k/1", "x");
    StateStore::PutPosition(a, "PAYMENT", 42);
    if (!(*store)->Write(a).ok()) _exit(3);
    if (flush_first && !(*store)->Flush().ok()) _exit(4);
    rocksdb::WriteBatch b;
    StateStore::PutPosition(b, "PAYMENT", 50);
    if (!(*store)->Write(b).ok()) _exit(5);
    _exit(0);  // no destructor: the memtable is never flushed
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(StateStoreTest, RebuildProgressFlushedSurvivesACrash) {
  testing::TempDir flushed;
  CrashAfterWriting(flushed.path(), /*flush_first=*/true);
  auto store = StateStore::Open(flushed.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->GetPosition("PAYMENT"), 42u);
  EXPECT_EQ((*store)->Get("k/1")->value_or(""), "x");

  // Without the flush (as before): everything is lost, the rebuild restarts.
  testing::TempDir lost;
  CrashAfterWriting(lost.path(), /*flush_first=*/false);
  auto again = StateStore::Open(lost.path());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*(*again)->GetPosition("PAYMENT"), 0u);
}

TEST(StateStoreTest, AConsistentScanSeesOneMomentWhileWritesGoOn) {
  testing::TempDir dir;
  auto store = StateStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::WriteBatch batch;
  batch.Put("k/1", "a");
  batch.Put("k/2", "b");
  StateStore::PutPosition(batch, "RENTAL", 2);
  ASSERT_TRUE((*store)->Write(batch).ok());
  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE((*store)
                  ->ScanConsistent([&](absl::string_view k, absl::string_view v) {
                    if (seen.empty()) {
                      // A write landing in the middle of the pass is not seen.
                      rocksdb::WriteBatch later;
                      later.Put("k/3", "c");
                      later.Delete("k/2");
                      StateStore::PutPosition(later, "RENTAL", 4);
                      EXPECT_TRUE((*store)->Write(later).ok());
                    }
                    seen.emplace_back(k, v);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {"k/1", "a"}, {"k/2", "b"}, {"pos/RENTAL", "2"}}));
  EXPECT_EQ(*(*store)->GetPosition("RENTAL"), 4u);
}

TEST(StateStoreTest, ClearLeavesAnEmptyStore) {
  testing::TempDir dir;
  auto store = StateStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(*(*store)->Empty());
  ASSERT_TRUE((*store)->Clear().ok());  // nothing to clear
  rocksdb::WriteBatch batch;
  batch.Put(std::string("\0first", 6), "x");
  batch.Put("m/1", "y");
  batch.Put("\xff\xfflast", "z");
  StateStore::PutPosition(batch, "RENTAL", 9);
  ASSERT_TRUE((*store)->Write(batch).ok());
  ASSERT_TRUE((*store)->Flush().ok());
  EXPECT_FALSE(*(*store)->Empty());
  ASSERT_TRUE((*store)->Clear().ok());
  EXPECT_TRUE(*(*store)->Empty());
  EXPECT_EQ(*(*store)->GetPosition("RENTAL"), 0u);
  EXPECT_FALSE((*store)->Get("\xff\xfflast")->has_value());
}

}  // namespace
}  // namespace rentmesh::rocksdb_store
