#include "rentmesh/rocksdb/state_store.h"

#include <gtest/gtest.h>

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
  ASSERT_TRUE((*store)->Scan("a/", "", [&](absl::string_view k, absl::string_view) {
    keys.emplace_back(k);
    return true;
  }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2"}));
  keys.clear();
  ASSERT_TRUE((*store)->Scan("a/", "a/1", [&](absl::string_view k, absl::string_view) {
    keys.emplace_back(k);
    return true;
  }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/2"}));
}

}  // namespace
}  // namespace rentmesh::rocksdb_store
