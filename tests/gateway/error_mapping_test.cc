#include "gateway/core/error_mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rentmesh::gateway {
namespace {

TEST(ErrorMappingTest, FollowsGrpcGatewaysStatusTable) {
  using C = absl::StatusCode;
  const std::pair<C, int> table[] = {{C::kOk, 200},
                                     {C::kCancelled, 499},
                                     {C::kUnknown, 500},
                                     {C::kInvalidArgument, 400},
                                     {C::kDeadlineExceeded, 504},
                                     {C::kNotFound, 404},
                                     {C::kAlreadyExists, 409},
                                     {C::kPermissionDenied, 403},
                                     {C::kUnauthenticated, 401},
                                     {C::kResourceExhausted, 429},
                                     {C::kFailedPrecondition, 400},
                                     {C::kAborted, 409},
                                     {C::kOutOfRange, 400},
                                     {C::kUnimplemented, 501},
                                     {C::kInternal, 500},
                                     {C::kUnavailable, 503},
                                     {C::kDataLoss, 500}};
  for (const auto& [code, http] : table)
    EXPECT_EQ(HttpStatusFromCode(code), http) << absl::StatusCodeToString(code);
}

TEST(ErrorMappingTest, BodyIsGoogleRpcStatusShaped) {
  auto j = nlohmann::json::parse(StatusJson(absl::NotFoundError("no book \"b1\"")));
  EXPECT_EQ(j["code"], 5);
  EXPECT_EQ(j["message"], "no book \"b1\"");
  EXPECT_TRUE(j["details"].is_array());
}

TEST(ErrorMappingTest, InvalidUtf8InAMessageIsReplacedNotThrown) {
  auto j = nlohmann::json::parse(StatusJson(absl::InternalError("bad \xff byte")));
  EXPECT_EQ(j["code"], 13);
}

}  // namespace
}  // namespace rentmesh::gateway
