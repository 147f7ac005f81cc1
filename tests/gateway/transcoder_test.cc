#include "gateway/core/transcoder.h"

#include <gtest/gtest.h>

#include "gateway_test.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"

namespace rentmesh::gateway {
namespace {

namespace tv1 = rentmesh::gatewaytest::v1;

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t =
        RouteTable::FromServices({tv1::Item::descriptor()->file()->service(0),
                                  rentmesh::rental::v1::Book::descriptor()->file()->service(0)});
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = *std::move(t);
  }

  template <typename M>
  absl::StatusOr<M> Encode(const std::string& method, const std::string& target,
                           const std::string& body) {
    const size_t q = target.find('?');
    auto found = table_.Find(method, target.substr(0, q));
    if (!found.match) return absl::NotFoundError("no route");
    auto bytes = transcoder_.EncodeRequest(
        *found.match, q == std::string::npos ? "" : target.substr(q + 1), body);
    if (!bytes.ok()) return bytes.status();
    M m;
    if (!m.ParseFromString(*bytes)) return absl::InternalError("unparsable");
    return m;
  }

  RouteTable table_;
  Transcoder transcoder_{TranscoderOptions{}};
};

TEST_F(TranscoderTest, BodyStarAcceptsCamelCaseAndOriginalNames) {
  auto a = Encode<rentmesh::rental::v1::AddBookRequest>(
      "POST", "/v1/books",
      R"({"bookId":"b1","title":"T","copies":2,"daily_fee":{"amountMinor":"1500"}})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->book_id(), "b1");
  EXPECT_EQ(a->copies(), 2);
  EXPECT_EQ(a->daily_fee().amount_minor(), 1500);
}

TEST_F(TranscoderTest, PathVariablesOverrideTheBody) {
  auto s = Encode<rentmesh::rental::v1::StockBookRequest>("POST", "/v1/books/b9:stock",
                                                          R"({"bookId":"other","copies":3})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->book_id(), "b9");
  EXPECT_EQ(s->copies(), 3);
}

TEST_F(TranscoderTest, RejectsUnknownFieldsWrongTypesAndMalformedJson) {
  for (const char* body : {R"({"bookId":"b","nope":1})", R"({"copies":"many"})",
                           R"({"copies":1.5})", "{", "[]", R"({"title": 5)", "nul"}) {
    auto r = Encode<rentmesh::rental::v1::AddBookRequest>("POST", "/v1/books", body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

TEST_F(TranscoderTest, RejectsInvalidUtf8AndDeepNesting) {
  auto utf =
      Encode<rentmesh::rental::v1::AddBookRequest>("POST", "/v1/books", "{\"title\":\"\xff\xfe\"}");
  EXPECT_EQ(utf.status().code(), absl::StatusCode::kInvalidArgument);
  std::string deep = "{\"title\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto d = Encode<rentmesh::rental::v1::AddBookRequest>("POST", "/v1/books", deep);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("nests deeper"), absl::string_view::npos);
}

TEST_F(TranscoderTest, EmptyBodyIsTheEmptyMessage) {
  auto s = Encode<rentmesh::rental::v1::CancelRentalRequest>("POST", "/v1/rentals/r1:cancel", "");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rental_id(), "r1");
}

TEST_F(TranscoderTest, QueryParametersSetNestedRepeatedAndTypedFields) {
  auto s = Encode<tv1::SearchRequest>(
      "GET",
      "/v1/search?query=war+and%20peace&tags=a&tags=b&filter.minCopies=2&filter.year.low=1800"
      "&filter.kinds=KIND_BOOK&filter.kinds=2&exact=true&since=2024-01-02T03:04:05Z&big_number="
      "9007199254740993"
      "&score=1.5&pageSize=10",
      "");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->query(), "war and peace");
  EXPECT_EQ(s->tags_size(), 2);
  EXPECT_EQ(s->filter().min_copies(), 2);
  EXPECT_EQ(s->filter().year().low(), 1800);
  ASSERT_EQ(s->filter().kinds_size(), 2);
  EXPECT_EQ(s->filter().kinds(1), tv1::KIND_MAP);
  EXPECT_TRUE(s->exact());
  EXPECT_EQ(s->since().seconds(), 1704164645);
  EXPECT_EQ(s->big_number(), 9007199254740993LL);
  EXPECT_DOUBLE_EQ(s->score(), 1.5);
  EXPECT_EQ(s->page_size(), 10);
}

TEST_F(TranscoderTest, RejectsBadQueryParameters) {
  for (const char* target :
       {"/v1/search?nope=1", "/v1/search?page_size=abc", "/v1/search?exact=maybe",
        "/v1/search?filter=1", "/v1/search?labels=x", "/v1/search?query=a&query=b",
        "/v1/search?query=%zz", "/v1/search?query=%ff", "/v1/search?filter.nope=1"}) {
    auto r = Encode<tv1::SearchRequest>("GET", target, "");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << target;
  }
  auto star = Encode<rentmesh::rental::v1::AddBookRequest>("POST", "/v1/books?title=x", "{}");
  EXPECT_EQ(star.status().code(), absl::StatusCode::kInvalidArgument) << "body * takes no query";
  auto get =
      Encode<rentmesh::rental::v1::GetBookRequest>("GET", "/v1/books/b1", R"({"bookId":"x"})");
  EXPECT_EQ(get.status().code(), absl::StatusCode::kInvalidArgument) << "GET takes no body";
  auto bound = Encode<rentmesh::rental::v1::GetBookRequest>("GET", "/v1/books/b1?bookId=x", "");
  EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument)
      << "path-bound field in query";
}

TEST_F(TranscoderTest, FieldBodyFillsThatFieldAndQueryTheRest) {
  auto u =
      Encode<tv1::UpdateItemRequest>("PATCH", "/v1/items/i7?validateOnly=true",
                                     R"({"displayName":"Atlas","kind":"KIND_MAP","tags":["x"]})");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->item().id(), "i7");
  EXPECT_EQ(u->item().display_name(), "Atlas");
  EXPECT_EQ(u->item().kind(), tv1::KIND_MAP);
  EXPECT_TRUE(u->validate_only());
  auto clash = Encode<tv1::UpdateItemRequest>("PATCH", "/v1/items/i7?item.displayName=x", "{}");
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TranscoderTest, MultiSegmentVariableKeepsSlashes) {
  auto g = Encode<tv1::GetItemRequest>("GET", "/v1/shelves/s1/items/a/b?view=full", "");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->name(), "shelves/s1/items/a/b");
  EXPECT_EQ(g->view(), "full");
}

TEST_F(TranscoderTest, ResponsesUseLowerCamelCaseAndEmitDefaults) {
  auto found = table_.Find("GET", "/v1/books/b1");
  rentmesh::rental::v1::Book b;
  b.set_book_id("b1");
  b.set_copies_available(0);
  b.mutable_created_at()->set_seconds(1700000000);
  auto json = transcoder_.EncodeResponseJson(*found.match->route, b.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"bookId\":\"b1\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"copiesAvailable\":0"), std::string::npos) << *json;
  EXPECT_NE(json->find("\"createdAt\":\"2023-11-14T22:13:20Z\""), std::string::npos) << *json;
  auto bad = transcoder_.EncodeResponseJson(*found.match->route, "\xff\xff\xff");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace rentmesh::gateway
