#include "rentmesh/common/service_token.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace rentmesh {
namespace {

// "RS256" or "ES256" for a PEM private key; empty when it does not parse.
std::string AlgOf(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return "";
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free_all(bio);
  if (key == nullptr) return "";
  std::string alg;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      alg = "RS256";
      break;
    case EVP_PKEY_EC:
      alg = "ES256";
      break;
    default:
      break;
  }
  EVP_PKEY_free(key);
  return alg;
}

// {"roles":[...]}; role names are checked to need no escaping.
std::string RolesJson(const std::vector<std::string>& roles) {
  std::string out = "{\"roles\":[";
  for (size_t i = 0; i < roles.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", "\"", roles[i], "\"");
  }
  return out + "]}";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceTokenSource>> ServiceTokenSource::Create(
    ServiceTokenConfig config, std::function<absl::Time()> clock) {
  if (config.service.empty()) return absl::InvalidArgumentError("a service token needs a service");
  if (config.ttl < absl::Minutes(1)) {
    return absl::InvalidArgumentError("a service token must live at least a minute");
  }
  for (const std::string& r : config.roles) {
    if (r.empty() ||
        !absl::c_all_of(r, [](char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; })) {
      return absl::InvalidArgumentError("a role must be letters, digits, '-' or '_'");
    }
  }
  std::string alg = AlgOf(config.private_key_pem);
  if (alg.empty()) {
    return absl::InvalidArgumentError(
        "the service token key is not an RSA or EC P-256 private key in PEM");
  }
  return std::unique_ptr<ServiceTokenSource>(
      new ServiceTokenSource(std::move(config), std::move(alg), std::move(clock)));
}

absl::StatusOr<std::string> ServiceTokenSource::Token() {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (now < refresh_at_) return token_;
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("cannot create a JWT");
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, &jwt_free);
  const auto& key = config_.private_key_pem;
  const long iat = static_cast<long>(absl::ToUnixSeconds(now));
  const long exp = static_cast<long>(absl::ToUnixSeconds(now + config_.ttl));
  bool ok =
      jwt_set_alg(jwt.get(), alg_ == "ES256" ? JWT_ALG_ES256 : JWT_ALG_RS256,
                  reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) == 0 &&
      jwt_add_grant(jwt.get(), "sub", config_.service.c_str()) == 0 &&
      jwt_add_grants_json(jwt.get(), RolesJson(config_.roles).c_str()) == 0 &&
      jwt_add_grant_int(jwt.get(), "iat", iat) == 0 &&
      jwt_add_grant_int(jwt.get(), "nbf", iat) == 0 &&
      jwt_add_grant_int(jwt.get(), "exp", exp) == 0 &&
      (config_.issuer.empty() || jwt_add_grant(jwt.get(), "iss", config_.issuer.c_str()) == 0) &&
      (config_.audience.empty() || jwt_add_grant(jwt.get(), "aud", config_.audience.c_str()) == 0);
  if (!ok) return absl::InternalError("cannot build the service token");
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return absl::InternalError("cannot sign the service token");
  token_ = encoded;
  free(encoded);
  refresh_at_ = now + config_.ttl / 2;
  return token_;
}

void ServiceTokenSource::Attach(grpc::ClientContext& ctx) {
  absl::StatusOr<std::string> token = Token();
  if (token.ok()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
}

}  // namespace rentmesh
