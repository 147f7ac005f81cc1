// The gateway derives the REST route of ListNotifications from the contract.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "gateway/core/route_table.h"
#include "rentmesh/notification/v1/notification.pb.h"

namespace rentmesh::notification {
namespace {

TEST(GatewayRouteTest, ListNotificationsIsGetCustomersNotificationsOnTheNotificationBackend) {
  // Through a message of the file: that links the contract into this test.
  const google::protobuf::ServiceDescriptor* service =
      v1::ListNotificationsRequest::descriptor()->file()->FindServiceByName("NotificationService");
  ASSERT_NE(service, nullptr);
  auto table = gateway::RouteTable::FromServices({service});
  ASSERT_TRUE(table.ok()) << table.status();
  gateway::RouteTable::Lookup found = table->Find("GET", "/v1/customers/alice/notifications");
  ASSERT_TRUE(found.match.has_value());
  EXPECT_EQ(found.match->route->grpc_path,
            "/rentmesh.notification.v1.NotificationService/ListNotifications");
  EXPECT_EQ(found.match->route->backend, "notification");
  EXPECT_EQ(found.match->bindings, (gateway::PathTemplate::Bindings{{"customer_id", "alice"}}));
  EXPECT_FALSE(table->Find("POST", "/v1/customers/alice/notifications").match.has_value());
}

}  // namespace
}  // namespace rentmesh::notification
