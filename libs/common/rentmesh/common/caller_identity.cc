#include "rentmesh/common/caller_identity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rentmesh {

CallerIdentity CallerIdentity::FromServerContext(const grpc::ServerContextBase& ctx) {
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
      id.roles.emplace_back(absl::StripAsciiWhitespace(r));
    }
  }
  return id;
}

bool CallerIdentity::HasRole(absl::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::Status CallerIdentity::AuthorizeCustomer(absl::string_view customer_id) const {
  if (!present || HasRole(kLibrarianRole) || subject == customer_id) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", subject, "\" may not act for customer \"", customer_id, "\""));
}

absl::Status CallerIdentity::AuthorizeLibrarian() const {
  if (!present || HasRole(kLibrarianRole)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", subject, "\" lacks the librarian role"));
}

}  // namespace rentmesh
