#include "rentmesh/common/caller_identity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rentmesh {
namespace {

absl::Status Anonymous() {
  return absl::UnauthenticatedError(
      "this call needs a caller identity: send \"authorization: Bearer <JWT>\"");
}

}  // namespace

CallerIdentity CallerIdentity::Service(std::string name) {
  CallerIdentity id;
  id.present = true;
  id.subject = std::move(name);
  id.roles = {kServiceRole};
  return id;
}

CallerIdentity CallerIdentity::MeshService() {
  CallerIdentity id = Service("");
  id.mesh_service = true;
  return id;
}

CallerIdentity CallerIdentity::FromMeshHeaders(const grpc::ServerContextBase& ctx) {
  CallerIdentity id;
  const auto& md = ctx.client_metadata();
  auto sub = md.find(kSubjectHeader);
  if (sub != md.end()) {
    id.present = true;
    id.subject.assign(sub->second.data(), sub->second.size());
  }
  auto roles = md.find(kRolesHeader);
  if (roles != md.end()) {
    id.present = true;
    absl::string_view all(roles->second.data(), roles->second.size());
    for (absl::string_view r : absl::StrSplit(all, ',', absl::SkipWhitespace())) {
      r = absl::StripAsciiWhitespace(r);
      if (r != kServiceRole) id.roles.emplace_back(r);
    }
  }
  return id;
}

bool CallerIdentity::HasRole(absl::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::Status CallerIdentity::AuthorizeCustomer(absl::string_view customer_id) const {
  if (!present) return Anonymous();
  if (IsService() || HasRole(kLibrarianRole) || subject == customer_id) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", subject, "\" may not act for customer \"", customer_id, "\""));
}

absl::Status CallerIdentity::AuthorizeLibrarian() const {
  if (!present) return Anonymous();
  if (IsService() || HasRole(kLibrarianRole)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", subject, "\" lacks the librarian role"));
}

absl::Status CallerIdentity::AuthorizeInternal(absl::string_view service, absl::string_view rpc,
                                               bool staff_too) const {
  if (!present) return Anonymous();
  if (IsService() && (mesh_service || subject == service)) return absl::OkStatus();
  if (staff_too && HasRole(kLibrarianRole)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(rpc, " is an internal step of the rental saga: only the ", service, " service",
                   staff_too ? " or a librarian" : "", " may call it (caller \"", subject, "\")"));
}

}  // namespace rentmesh
