#pragma once

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/core/path_template.h"

namespace rentmesh::gateway {

// One REST binding of an RPC, from a google.api.http rule (or one of its
// additional_bindings).
struct Route {
  std::string http_method;  // "GET", "POST", "PUT", "PATCH", "DELETE" or a custom kind
  PathTemplate path;
  // "" (no body: remaining fields come from the query), "*" (the whole
  // request message) or a field path of the request message.
  std::string body;
  // "" (the whole response) or a field of the response message.
  std::string response_body;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string grpc_path;  // "/rentmesh.rental.v1.RentalService/GetBook"
  std::string backend;    // "rental": which --<backend>_address serves it
  bool server_streaming = false;
  // POST with body "*" on a collection path (last segment a literal, no
  // verb): the call creates a resource and answers 201.
  bool creates = false;
  std::string operation_id;  // "RentalService_GetBook"; additional bindings get "_2", "_3"
};

struct RouteMatch {
  const Route* route = nullptr;
  PathTemplate::Bindings bindings;
};

// The REST routes of a set of gRPC services, derived from their descriptors.
class RouteTable final {
 public:
  // Routes for every method of `services` that carries a google.api.http
  // option, except internal ones ((rentmesh.common.v1.internal) = true:
  // saga steps no client may call through the edge), which are only listed. INVALID_ARGUMENT on a
  // malformed template or a body naming no field, ALREADY_EXISTS when two rules bind the same
  // method and template.
  static absl::StatusOr<RouteTable> FromServices(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  // Every service compiled into this process (the generated descriptor pool)
  // whose package starts with `package_prefix`. Only files linked into the
  // binary are seen (the gateway links all contracts whole).
  static absl::StatusOr<RouteTable> FromGeneratedPool(absl::string_view package_prefix);

  struct Lookup {
    std::optional<RouteMatch> match;
    // When there is no match for the method but the path matches routes of
    // other methods: those methods (answer 405 with Allow). Empty means 404.
    std::vector<std::string> allowed_methods;
  };
  // `http_method` upper case; HEAD is looked up as GET. `raw_path` is the
  // request target without the query string, still percent-encoded.
  Lookup Find(absl::string_view http_method, absl::string_view raw_path) const;

  const std::vector<Route>& routes() const { return routes_; }
  const std::vector<const google::protobuf::ServiceDescriptor*>& services() const {
    return services_;
  }
  // Distinct backend names, sorted.
  std::vector<std::string> Backends() const;
  // The internal methods of the services: not routed (404 at the edge).
  const std::vector<const google::protobuf::MethodDescriptor*>& internal_methods() const {
    return internal_methods_;
  }

 private:
  std::vector<Route> routes_;
  std::vector<const google::protobuf::MethodDescriptor*> internal_methods_;
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
};

// Whether `method` is marked (rentmesh.common.v1.internal) = true.
bool IsInternal(const google::protobuf::MethodDescriptor& method);

// The backend that serves a service of `package`: the component after
// "rentmesh." ("rentmesh.rental.v1" -> "rental"), else the first component.
std::string BackendForPackage(absl::string_view package);

// The field at dotted `path` ("a.b") of `message`; proto names or JSON names.
// nullptr when a component is missing or a non-final component is not a
// singular message.
const google::protobuf::FieldDescriptor* FindFieldPath(const google::protobuf::Descriptor& message,
                                                       absl::string_view path);

}  // namespace rentmesh::gateway
