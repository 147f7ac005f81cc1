#include "gateway/core/path_template.h"

#include <gtest/gtest.h>

namespace rentmesh::gateway {
namespace {

PathTemplate::Bindings B(std::initializer_list<std::pair<std::string, std::string>> l) { return l; }

TEST(PathTemplateTest, MatchesLiteralsAndSingleVariables) {
  auto t = PathTemplate::Parse("/v1/books/{book_id}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Match("/v1/books/b1"), B({{"book_id", "b1"}}));
  EXPECT_FALSE(t->Match("/v1/books").has_value());
  EXPECT_FALSE(t->Match("/v1/books/b1/x").has_value());
  EXPECT_FALSE(t->Match("/v1/books/").has_value());
}

TEST(PathTemplateTest, PercentDecodesVariablesIncludingSlashes) {
  auto t = PathTemplate::Parse("/v1/books/{book_id}");
  EXPECT_EQ(t->Match("/v1/books/a%2Fb%20c"), B({{"book_id", "a/b c"}}));
  EXPECT_FALSE(t->Match("/v1/books/bad%zz").has_value());
  EXPECT_FALSE(t->Match("/v1/books/%ff%fe").has_value()) << "not UTF-8";
}

TEST(PathTemplateTest, MultiSegmentVariablesCaptureTheRest) {
  auto t = PathTemplate::Parse("/v1/{name=shelves/*/items/**}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Match("/v1/shelves/s1/items/a/b/c"), B({{"name", "shelves/s1/items/a/b/c"}}));
  EXPECT_FALSE(t->Match("/v1/shelves/s1/items").has_value());
  EXPECT_FALSE(t->Match("/v1/racks/s1/items/a").has_value());
  EXPECT_EQ(t->OpenApiPath(), "/v1/{name}");
}

TEST(PathTemplateTest, VerbSuffixMustMatchExactly) {
  auto t = PathTemplate::Parse("/v1/books/{book_id}:stock");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->verb(), "stock");
  EXPECT_EQ(t->Match("/v1/books/b1:stock"), B({{"book_id", "b1"}}));
  EXPECT_FALSE(t->Match("/v1/books/b1:cancel").has_value());
  EXPECT_FALSE(t->Match("/v1/books/b1").has_value());
  auto plain = PathTemplate::Parse("/v1/books/{book_id}");
  EXPECT_FALSE(plain->Match("/v1/books/b1:stock").has_value())
      << "an undeclared verb is not part of the id";
}

TEST(PathTemplateTest, VerbAfterLiteralCollection) {
  auto t = PathTemplate::Parse("/v1/customers/{customer_id}/rentals:watch");
  EXPECT_EQ(t->Match("/v1/customers/c1/rentals:watch"), B({{"customer_id", "c1"}}));
  auto list = PathTemplate::Parse("/v1/customers/{customer_id}/rentals");
  EXPECT_FALSE(list->Match("/v1/customers/c1/rentals:watch").has_value());
}

TEST(PathTemplateTest, NestedFieldPathsAndWildcards) {
  auto t = PathTemplate::Parse("/v1/items/{item.id}/*");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Match("/v1/items/i1/anything"), B({{"item.id", "i1"}}));
  EXPECT_EQ(t->VariableFields(), std::vector<std::string>{"item.id"});
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (const char* bad : {"", "v1/books", "/v1/{book_id", "/v1/{}", "/v1/{a b}", "/v1/**/x",
                          "/v1//x", "/v1/books:", "/v1/{x=**}/y", "/v1/{a={b}}"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

TEST(PathTemplateTest, PercentDecodeHandlesPlusAndTruncation) {
  EXPECT_EQ(PercentDecode("a+b%41", true), "a bA");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_FALSE(PercentDecode("%4", true).has_value());
  EXPECT_FALSE(PercentDecode("%", true).has_value());
}

}  // namespace
}  // namespace rentmesh::gateway
