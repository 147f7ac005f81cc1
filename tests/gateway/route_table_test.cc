#include "gateway/core/route_table.h"

#include <gtest/gtest.h>

#include "gateway_test.pb.h"
#include "rentmesh/payment/v1/payment.pb.h"
#include "rentmesh/rental/v1/rental.pb.h"
#include "rentmesh/returns/v1/returns.pb.h"
#include "rentmesh/view/v1/view.pb.h"

namespace rentmesh::gateway {
namespace {

std::vector<const google::protobuf::ServiceDescriptor*> RentmeshServices() {
  return {rentmesh::rental::v1::Book::descriptor()->file()->service(0),
          rentmesh::payment::v1::Payment::descriptor()->file()->service(0),
          rentmesh::returns::v1::Return::descriptor()->file()->service(0),
          rentmesh::view::v1::RentalSummary::descriptor()->file()->service(0)};
}

TEST(RouteTableTest, EveryAnnotatedRentmeshRpcHasARoute) {
  auto table = RouteTable::FromServices(RentmeshServices());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->routes().size(), 21u);
  EXPECT_EQ(table->Backends(), (std::vector<std::string>{"payment", "rental", "returns", "view"}));
}

TEST(RouteTableTest, RoutesTheCustomerTierCallsToRental) {
  auto table = RouteTable::FromServices(RentmeshServices());
  ASSERT_TRUE(table.ok()) << table.status();
  auto set = table->Find("POST", "/v1/customers/alice:setTier");
  ASSERT_TRUE(set.match.has_value());
  EXPECT_EQ(set.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/SetCustomerTier");
  EXPECT_EQ(set.match->bindings, (PathTemplate::Bindings{{"customer_id", "alice"}}));
  auto get = table->Find("GET", "/v1/customers/alice/tier");
  ASSERT_TRUE(get.match.has_value());
  EXPECT_EQ(get.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/GetCustomerTier");
}

TEST(RouteTableTest, RoutesTheHoldCallsToRental) {
  auto table = RouteTable::FromServices(RentmeshServices());
  ASSERT_TRUE(table.ok()) << table.status();
  auto hold = table->Find("POST", "/v1/books/dune/holds");
  ASSERT_TRUE(hold.match.has_value());
  EXPECT_EQ(hold.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/HoldBook");
  EXPECT_EQ(hold.match->bindings, (PathTemplate::Bindings{{"book_id", "dune"}}));
  auto list = table->Find("GET", "/v1/customers/alice/holds");
  ASSERT_TRUE(list.match.has_value());
  EXPECT_EQ(list.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/ListHolds");
  auto release = table->Find("POST", "/v1/holds/hold-1/release");
  ASSERT_TRUE(release.match.has_value());
  EXPECT_EQ(release.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/ReleaseHold");
  EXPECT_EQ(release.match->bindings, (PathTemplate::Bindings{{"hold_id", "hold-1"}}));
  EXPECT_EQ(release.match->route->backend, "rental");
}

TEST(RouteTableTest, FindsRouteWithBindingsAndBackend) {
  auto table = RouteTable::FromServices(RentmeshServices());
  auto found = table->Find("POST", "/v1/rentals/r1:return");
  ASSERT_TRUE(found.match.has_value());
  EXPECT_EQ(found.match->route->grpc_path, "/rentmesh.rental.v1.RentalService/ReturnBook");
  EXPECT_EQ(found.match->route->backend, "rental");
  EXPECT_EQ(found.match->bindings, (PathTemplate::Bindings{{"rental_id", "r1"}}));
  auto pay = table->Find("GET", "/v1/rentals/r1/payments");
  ASSERT_TRUE(pay.match.has_value());
  EXPECT_EQ(pay.match->route->backend, "payment");
  auto ret = table->Find("GET", "/v1/rentals/r1/return");
  ASSERT_TRUE(ret.match.has_value());
  EXPECT_EQ(ret.match->route->backend, "returns");
}

TEST(RouteTableTest, DistinguishesUnknownRouteFromWrongMethod) {
  auto table = RouteTable::FromServices(RentmeshServices());
  auto missing = table->Find("GET", "/v1/nothing");
  EXPECT_FALSE(missing.match.has_value());
  EXPECT_TRUE(missing.allowed_methods.empty());
  auto wrong = table->Find("DELETE", "/v1/books");
  EXPECT_FALSE(wrong.match.has_value());
  EXPECT_EQ(wrong.allowed_methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_TRUE(table->Find("HEAD", "/v1/books").match.has_value()) << "HEAD is served as GET";
}

TEST(RouteTableTest, CreatesAre201ByRule) {
  auto table = RouteTable::FromServices(RentmeshServices());
  std::vector<std::string> creates;
  for (const Route& r : table->routes()) {
    if (r.creates) creates.push_back(r.method->name());
  }
  std::sort(creates.begin(), creates.end());
  // ReleaseHold's contract path (/v1/holds/{hold_id}/release) has no ":verb",
  // so the rule takes it for a collection too: it answers 201.
  EXPECT_EQ(creates, (std::vector<std::string>{"AddBook", "HoldBook", "ReleaseHold", "RentBook"}));
}

TEST(RouteTableTest, InternalSagaStepsHaveNoRoute) {
  auto table = RouteTable::FromServices(RentmeshServices());
  ASSERT_TRUE(table.ok()) << table.status();
  std::vector<std::string> internal;
  for (const auto* m : table->internal_methods()) internal.push_back(m->full_name());
  std::sort(internal.begin(), internal.end());
  EXPECT_EQ(internal,
            (std::vector<std::string>{"rentmesh.payment.v1.PaymentService.Pay",
                                      "rentmesh.payment.v1.PaymentService.Refund",
                                      "rentmesh.returns.v1.ReturnService.ProcessReturn"}));
  EXPECT_FALSE(table->Find("POST", "/v1/payments").match.has_value());
  EXPECT_FALSE(table->Find("POST", "/v1/payments/p1:refund").match.has_value());
  EXPECT_FALSE(table->Find("POST", "/v1/returns").match.has_value());
  EXPECT_TRUE(table->Find("GET", "/v1/payments/p1").match.has_value()) << "reads stay public";
  EXPECT_TRUE(table->Find("GET", "/v1/returns/r1").match.has_value());
}

TEST(RouteTableTest, AdditionalBindingsBecomeRoutesOfTheSameMethod) {
  auto table =
      RouteTable::FromServices({rentmesh::gatewaytest::v1::Item::descriptor()->file()->service(0)});
  ASSERT_TRUE(table.ok()) << table.status();
  auto a = table->Find("GET", "/v1/shelves/s1/items/x/y");
  auto b = table->Find("GET", "/v1/items/x");
  ASSERT_TRUE(a.match && b.match);
  EXPECT_EQ(a.match->route->method, b.match->route->method);
  EXPECT_NE(a.match->route->operation_id, b.match->route->operation_id);
  EXPECT_EQ(table->Backends(), std::vector<std::string>{"gatewaytest"});
}

TEST(RouteTableTest, GeneratedPoolSeesLinkedContracts) {
  // Referencing the types links their files; the table then finds them.
  (void)rentmesh::rental::v1::Book::descriptor();
  (void)rentmesh::gatewaytest::v1::Item::descriptor();
  auto table = RouteTable::FromGeneratedPool("rentmesh.gatewaytest.");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->routes().size(), 8u);
  EXPECT_FALSE(RouteTable::FromGeneratedPool("no.such.package").ok());
}

TEST(RouteTableTest, BackendComesFromThePackage) {
  EXPECT_EQ(BackendForPackage("rentmesh.returns.v1"), "returns");
  EXPECT_EQ(BackendForPackage("acme.v1"), "acme");
}

}  // namespace
}  // namespace rentmesh::gateway
