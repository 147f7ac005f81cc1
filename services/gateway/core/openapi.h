#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/core/route_table.h"

namespace rentmesh::gateway {

struct OpenApiOptions {
  std::string title = "rentmesh REST API";
  std::string version = "v1";
  // Declares a bearer (JWT) security scheme required by every API route.
  bool bearer_auth = true;
};

// An OpenAPI 3.0.3 document (JSON) for every route of `routes`: path and query
// parameters, request bodies, 200/201 responses (server-streaming routes as
// application/x-ndjson of {"result"} / {"error"} lines), google.rpc.Status
// errors, and a schema per message reachable from the routes.
std::string BuildOpenApi(const RouteTable& routes, const OpenApiOptions& options);

}  // namespace rentmesh::gateway
