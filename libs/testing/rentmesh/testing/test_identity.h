#pragma once

#include <grpcpp/client_context.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rentmesh::testing {

// Keys and tokens for running the services as they run without a mesh: a
// user key pair (customer/librarian tokens, the gateway's key) and a service
// key pair (service tokens), fresh EC P-256 keys written as PEM files under
// `dir`.
class TestIdentity final {
 public:
  static absl::StatusOr<std::unique_ptr<TestIdentity>> Create(const std::string& dir);

  // Flags every service gets: the public keys that verify callers.
  std::vector<std::string> VerifyFlags() const;
  // What the rental service adds: the key that signs its own calls.
  std::vector<std::string> SignFlags() const;
  const std::string& user_public_key_file() const { return user_public_; }
  const std::string& user_private_key_file() const { return user_private_; }
  const std::string& service_public_key_file() const { return service_public_; }

  // A customer/librarian token signed with the user key (empty on failure).
  std::string UserToken(const std::string& subject, std::vector<std::string> roles = {}) const;
  // A service token (sub = `service`, role "service") signed with the service key.
  std::string ServiceToken(const std::string& service) const;
  // A token with the wrong key: signed with a key nobody trusts.
  std::string ForgedToken(const std::string& subject, std::vector<std::string> roles) const;

  static void Authorize(grpc::ClientContext& ctx, const std::string& token);

 private:
  TestIdentity() = default;
  std::string user_private_, user_public_, service_private_, service_public_, rogue_private_;
};

}  // namespace rentmesh::testing
