#include "rentmesh/telemetry/admin_server.h"

#include <httplib.h>

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rentmesh::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(AdminServerTest, ServesMetricsInTextExpositionFormat) {
  MetricsRegistry registry;
  registry.AddCounter("rentmesh_test_total", "t").WithLabels({}).Increment(3);
  auto server = AdminServer::Start("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(res->body, HasSubstr("rentmesh_test_total 3\n"));

  // A later scrape sees later values: nothing is cached.
  registry.AddCounter("rentmesh_test_total", "t").WithLabels({}).Increment();
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("rentmesh_test_total 4\n"));
}

TEST(AdminServerTest, HealthzFollowsTheHealthFunction) {
  MetricsRegistry registry;
  std::atomic<bool> ready{false};
  auto server = AdminServer::Start("127.0.0.1:0", registry, [&]() -> absl::Status {
    if (ready) return absl::OkStatus();
    return absl::UnavailableError("catching up from JetStream");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());

  auto res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->body, HasSubstr("catching up from JetStream"));

  ready = true;
  res = client.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
}

TEST(AdminServerTest, UnknownPathIsNotFound) {
  MetricsRegistry registry;
  auto server = AdminServer::Start("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST(AdminServerTest, MalformedAddressIsInvalidArgument) {
  MetricsRegistry registry;
  for (const char* address : {"", "nohost", ":9451", "127.0.0.1:http", "127.0.0.1:70000", "[::1"}) {
    auto server = AdminServer::Start(address, registry, nullptr);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << address;
  }
}

TEST(AdminServerTest, PortInUseIsUnavailable) {
  MetricsRegistry registry;
  auto first = AdminServer::Start("127.0.0.1:0", registry, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second =
      AdminServer::Start("127.0.0.1:" + std::to_string((*first)->port()), registry, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseHostPortTest, AcceptsIpv4Ipv6AndNames) {
  auto v4 = ParseHostPort("0.0.0.0:9451");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "0.0.0.0");
  EXPECT_EQ(v4->second, 9451);
  auto v6 = ParseHostPort("[::]:9452");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::");
  EXPECT_EQ(v6->second, 9452);
  auto name = ParseHostPort("localhost:0");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->first, "localhost");
}

}  // namespace
}  // namespace rentmesh::telemetry
