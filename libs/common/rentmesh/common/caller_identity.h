#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include <grpcpp/server_context.h>

#include "absl/status/status.h"

namespace rentmesh {

// Who is calling, as verified at the edge. The gateway (or Istio's
// RequestAuthentication with outputClaimToHeaders) verifies the JWT and passes
// its claims as metadata:
//   x-rentmesh-subject: the customer id (JWT "sub")
//   x-rentmesh-roles:   comma-separated roles (JWT "roles"), e.g. "librarian"
// A call without these headers comes from inside the mesh (a service, an
// operator's grpcurl) and is not restricted here; the mesh's
// AuthorizationPolicy decides who may make such calls.
struct CallerIdentity {
  static constexpr char kSubjectHeader[] = "x-rentmesh-subject";
  static constexpr char kRolesHeader[] = "x-rentmesh-roles";
  static constexpr char kLibrarianRole[] = "librarian";

  bool present = false;
  std::string subject;
  std::vector<std::string> roles;

  static CallerIdentity FromServerContext(const grpc::ServerContextBase& ctx);

  bool HasRole(absl::string_view role) const;
  // OK when there is no identity, the caller is a librarian, or the caller is
  // `customer_id`; PERMISSION_DENIED otherwise.
  absl::Status AuthorizeCustomer(absl::string_view customer_id) const;
  // OK when there is no identity or the caller is a librarian.
  absl::Status AuthorizeLibrarian() const;
};

}  // namespace rentmesh
