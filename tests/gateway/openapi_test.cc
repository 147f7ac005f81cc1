#include "gateway/core/openapi.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway_test.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/view/v1/view.pb.h"

namespace rentmesh::gateway {
namespace {

TEST(OpenApiTest, DescribesEveryRouteWithParametersBodiesAndSchemas) {
  auto table =
      RouteTable::FromServices({rentmesh::rental::v1::Book::descriptor()->file()->service(0),
                                rentmesh::view::v1::RentalSummary::descriptor()->file()->service(0),
                                rentmesh::gatewaytest::v1::Item::descriptor()->file()->service(0)});
  ASSERT_TRUE(table.ok()) << table.status();
  auto doc = nlohmann::json::parse(BuildOpenApi(*table, OpenApiOptions{}));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  const auto& paths = doc["paths"];
  ASSERT_TRUE(paths.contains("/v1/books/{book_id}:stock"));
  EXPECT_TRUE(paths["/v1/books"]["post"]["responses"].contains("201"));
  EXPECT_TRUE(paths["/v1/books/{book_id}"]["get"]["responses"].contains("200"));
  EXPECT_EQ(paths["/v1/books/{book_id}"]["get"]["parameters"][0]["in"], "path");
  EXPECT_TRUE(
      paths["/v1/customers/{customer_id}/rentals:watch"]["get"]["responses"]["200"]["content"]
          .contains("application/x-ndjson"));
  EXPECT_TRUE(paths.contains("/v1/{name}")) << "{name=shelves/*/items/**}";
  bool nested = false;
  for (const auto& p : paths["/v1/search"]["get"]["parameters"])
    nested = nested || p["name"] == "filter.year.low";
  EXPECT_TRUE(nested);
  EXPECT_TRUE(doc["components"]["schemas"].contains("rentmesh.rental.v1.Book"));
  EXPECT_EQ(
      doc["components"]["schemas"]["rentmesh.rental.v1.Book"]["properties"]["createdAt"]["format"],
      "date-time");
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
}

}  // namespace
}  // namespace rentmesh::gateway
