#include "rentmesh/common/caller_authenticator.h"

#include <algorithm>
#include <string>

namespace rentmesh {

std::unique_ptr<CallerAuthenticator> CallerAuthenticator::TrustingMesh() {
  Options options;
  options.trust_mesh = true;
  return std::make_unique<CallerAuthenticator>(std::move(options));
}

absl::StatusOr<CallerIdentity> CallerAuthenticator::Identify(
    const grpc::ServerContextBase& ctx) const {
  const auto& md = ctx.client_metadata();
  auto auth = md.find("authorization");
  if (auth != md.end()) {
    absl::StatusOr<std::string> token =
        BearerToken(absl::string_view(auth->second.data(), auth->second.size()));
    if (!token.ok()) {
      if (!options_.trust_mesh) return token.status();
    } else {
      absl::Status service_error;
      if (options_.service_tokens != nullptr) {
        absl::StatusOr<VerifiedIdentity> v = options_.service_tokens->Verify(*token);
        if (v.ok() && std::find(v->roles.begin(), v->roles.end(), CallerIdentity::kServiceRole) !=
                          v->roles.end()) {
          return CallerIdentity::Service(v->subject);
        }
        service_error =
            v.ok() ? absl::UnauthenticatedError("invalid token: no service role") : v.status();
      }
      if (!options_.trust_mesh) {
        if (options_.user_tokens == nullptr) {
          return service_error.ok()
                     ? absl::UnauthenticatedError("this server has no key to verify tokens")
                     : service_error;
        }
        absl::StatusOr<VerifiedIdentity> v = options_.user_tokens->Verify(*token);
        if (!v.ok()) return v.status();
        CallerIdentity id;
        id.present = true;
        id.subject = v->subject;
        for (std::string& r : v->roles) {
          if (r != CallerIdentity::kServiceRole) id.roles.push_back(std::move(r));
        }
        return id;
      }
    }
  } else if (!options_.trust_mesh) {
    return CallerIdentity{};
  }
  // Trusting the mesh: its headers, or a service it let through.
  CallerIdentity id = CallerIdentity::FromMeshHeaders(ctx);
  if (!id.present) return CallerIdentity::MeshService();
  return id;
}

}  // namespace rentmesh
