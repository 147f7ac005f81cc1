#include "rentmesh/testing/test_identity.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "rentmesh/common/service_token.h"

namespace rentmesh::testing {
namespace {

absl::Status WriteKeyPair(const std::string& private_file, const std::string& public_file) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return absl::InternalError("cannot generate an EC key");
  FILE* priv = std::fopen(private_file.c_str(), "w");
  FILE* pub = std::fopen(public_file.c_str(), "w");
  bool ok = priv != nullptr && pub != nullptr &&
            PEM_write_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
            PEM_write_PUBKEY(pub, key) == 1;
  if (priv != nullptr) std::fclose(priv);
  if (pub != nullptr) std::fclose(pub);
  EVP_PKEY_free(key);
  return ok ? absl::OkStatus() : absl::InternalError("cannot write the key pair");
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sign(const std::string& private_file, const std::string& subject,
                 std::vector<std::string> roles) {
  ServiceTokenConfig config;
  config.service = subject;
  config.private_key_pem = Read(private_file);
  config.issuer = "rentmesh-dev";
  config.audience = "rentmesh";
  config.roles = std::move(roles);
  absl::StatusOr<std::unique_ptr<ServiceTokenSource>> source =
      ServiceTokenSource::Create(std::move(config));
  if (!source.ok()) return "";
  absl::StatusOr<std::string> token = (*source)->Token();
  return token.ok() ? *token : "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestIdentity>> TestIdentity::Create(const std::string& dir) {
  auto id = std::unique_ptr<TestIdentity>(new TestIdentity());
  id->user_private_ = dir + "/user-private.pem";
  id->user_public_ = dir + "/user-public.pem";
  id->service_private_ = dir + "/service-private.pem";
  id->service_public_ = dir + "/service-public.pem";
  id->rogue_private_ = dir + "/rogue-private.pem";
  if (absl::Status s = WriteKeyPair(id->user_private_, id->user_public_); !s.ok()) return s;
  if (absl::Status s = WriteKeyPair(id->service_private_, id->service_public_); !s.ok()) return s;
  if (absl::Status s = WriteKeyPair(id->rogue_private_, dir + "/rogue-public.pem"); !s.ok()) {
    return s;
  }
  return id;
}

std::vector<std::string> TestIdentity::VerifyFlags() const {
  return {"--jwt_public_key_file=" + user_public_,
          "--service_jwt_public_key_file=" + service_public_};
}

std::vector<std::string> TestIdentity::SignFlags() const {
  return {"--service_jwt_private_key_file=" + service_private_};
}

std::string TestIdentity::UserToken(const std::string& subject,
                                    std::vector<std::string> roles) const {
  return Sign(user_private_, subject, std::move(roles));
}

std::string TestIdentity::ServiceToken(const std::string& service) const {
  return Sign(service_private_, service, {"service"});
}

std::string TestIdentity::ForgedToken(const std::string& subject,
                                      std::vector<std::string> roles) const {
  return Sign(rogue_private_, subject, std::move(roles));
}

void TestIdentity::Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace rentmesh::testing
