#pragma once

#include <grpcpp/server_context.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rentmesh {

// Who is calling a gRPC server, as established by CallerAuthenticator:
//   anonymous  no credential at all (present == false)
//   a person   a customer ("sub" = customer id) or a librarian (role), from a
//              verified user JWT (the edge's keys), or from x-rentmesh-*
//              headers only when the server trusts the mesh
//   a service  a verified service JWT (sub = service name, role "service"),
//              or, when the server trusts the mesh, a call without identity
//              headers (the mesh's AuthorizationPolicy chose who may call)
// Anonymous callers are refused wherever a customer or librarian is required.
struct CallerIdentity {
  static constexpr char kSubjectHeader[] = "x-rentmesh-subject";
  static constexpr char kRolesHeader[] = "x-rentmesh-roles";
  static constexpr char kLibrarianRole[] = "librarian";
  static constexpr char kServiceRole[] = "service";

  bool present = false;
  std::string subject;
  std::vector<std::string> roles;
  // A service identity the mesh vouched for without naming the service.
  bool mesh_service = false;

  static CallerIdentity Service(std::string name);
  static CallerIdentity MeshService();
  // The x-rentmesh-* headers as they are, unverified: only for a server that
  // trusts the mesh (its ingress strips these headers from clients). A role
  // "service" in the headers is dropped: only a service token or the mesh
  // itself makes a service identity.
  static CallerIdentity FromMeshHeaders(const grpc::ServerContextBase& ctx);

  bool HasRole(absl::string_view role) const;
  bool IsService() const { return present && HasRole(kServiceRole); }

  // OK when the caller is `customer_id`, a librarian or a service;
  // UNAUTHENTICATED when anonymous; PERMISSION_DENIED otherwise.
  absl::Status AuthorizeCustomer(absl::string_view customer_id) const;
  // OK when the caller is a librarian or a service; UNAUTHENTICATED when
  // anonymous; PERMISSION_DENIED otherwise.
  absl::Status AuthorizeLibrarian() const;
  // OK only for the service `service` (or a service the mesh vouched for) and,
  // when `staff_too`, a librarian: the guard of an internal saga step.
  absl::Status AuthorizeInternal(absl::string_view service, absl::string_view rpc,
                                 bool staff_too = false) const;
};

}  // namespace rentmesh
