#include "rentmesh/common/consistency_token.h"

#include <gtest/gtest.h>

namespace rentmesh {
namespace {

TEST(ConsistencyTokenTest, FormatsAndParsesSeveralPositions) {
  std::string token = FormatConsistencyToken("RENTAL", 42) + "," + FormatConsistencyToken("PAYMENT", 7);
  auto parsed = ParseConsistencyToken(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].stream, "RENTAL");
  EXPECT_EQ((*parsed)[0].sequence, 42u);
  EXPECT_EQ((*parsed)[1].stream, "PAYMENT");
  EXPECT_EQ((*parsed)[1].sequence, 7u);
}

TEST(ConsistencyTokenTest, EmptyTokenIsAnEmptyList) {
  auto parsed = ParseConsistencyToken("");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

TEST(ConsistencyTokenTest, RejectsMalformedTokensWithInvalidArgument) {
  for (const char* bad : {"RENTAL", "RENTAL:", ":4", "RENTAL:x", "RENTAL:1,", "RENTAL:-1"}) {
    EXPECT_EQ(ParseConsistencyToken(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace rentmesh
