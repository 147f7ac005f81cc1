#include "rentmesh/common/jwt_verifier.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh {
namespace {

using nlohmann::json;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using JwtPtr = std::unique_ptr<jwt_t, Deleter<jwt_t, jwt_free>>;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

// "RS256" / "ES256" for an RSA / EC P-256 key; empty otherwise.
std::string AlgForKey(EVP_PKEY* key) {
  if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) return "RS256";
  if (EVP_PKEY_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) &&
        (absl::string_view(group) == "prime256v1" || absl::string_view(group) == "P-256")) {
      return "ES256";
    }
  }
  return "";
}

absl::StatusOr<std::string> ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return absl::InternalError("could not encode a public key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> B64Url(const json& j, const char* name) {
  auto it = j.find(name);
  std::string out;
  if (it == j.end() || !it->is_string() ||
      !absl::WebSafeBase64Unescape(it->get<std::string>(), &out) || out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK member \"", name, "\" missing or not base64url"));
  }
  return out;
}

absl::StatusOr<PkeyPtr> KeyFromJwk(const json& jwk) {
  const std::string kty = jwk.value("kty", "");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  const char* type = nullptr;
  BnPtr n, e;
  std::string point;
  if (kty == "RSA") {
    absl::StatusOr<std::string> nb = B64Url(jwk, "n");
    absl::StatusOr<std::string> eb = B64Url(jwk, "e");
    if (!nb.ok()) return nb.status();
    if (!eb.ok()) return eb.status();
    n.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(nb->data()), nb->size(), nullptr));
    e.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(eb->data()), eb->size(), nullptr));
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    type = "RSA";
  } else if (kty == "EC") {
    if (jwk.value("crv", "") != "P-256")
      return absl::InvalidArgumentError("only EC P-256 JWKs are supported");
    absl::StatusOr<std::string> x = B64Url(jwk, "x");
    absl::StatusOr<std::string> y = B64Url(jwk, "y");
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    if (x->size() != 32 || y->size() != 32)
      return absl::InvalidArgumentError("bad P-256 coordinates");
    point = absl::StrCat(std::string(1, '\x04'), *x, *y);
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    type = "EC";
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported JWK kty \"", kty, "\""));
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError("JWK does not form a valid public key");
  }
  return PkeyPtr(raw);
}

std::optional<json> DecodeJsonPart(absl::string_view part) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(part, &raw)) return std::nullopt;
  json j = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A NumericDate claim as a time; nullopt when not a number or absurdly far.
std::optional<absl::Time> NumericDate(const json& j) {
  if (!j.is_number()) return std::nullopt;
  const double d = j.get<double>();
  if (!(d > -1e12 && d < 1e12)) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(d));
}

bool IsMetadataSafe(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E || c == ',') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(
    const JwtVerifierConfig& config, std::function<absl::Time()> clock) {
  std::vector<Key> keys;
  if (!config.public_key_pem.empty()) {
    BioPtr bio(BIO_new_mem_buf(config.public_key_pem.data(),
                               static_cast<int>(config.public_key_pem.size())));
    PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return absl::InvalidArgumentError("JWT public key: not a PEM public key");
    const std::string alg = AlgForKey(key.get());
    if (alg.empty()) return absl::InvalidArgumentError("JWT public key: must be RSA or EC P-256");
    keys.push_back({"", alg, config.public_key_pem});
  }
  if (!config.jwks_json.empty()) {
    json jwks = json::parse(config.jwks_json, nullptr, false);
    if (jwks.is_discarded() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
      return absl::InvalidArgumentError("JWKS: not a JSON object with a \"keys\" array");
    }
    for (const json& jwk : jwks["keys"]) {
      if (!jwk.is_object()) return absl::InvalidArgumentError("JWKS: a key is not an object");
      if (jwk.value("use", "sig") != "sig") continue;
      absl::StatusOr<PkeyPtr> key = KeyFromJwk(jwk);
      if (!key.ok())
        return absl::InvalidArgumentError(absl::StrCat("JWKS: ", key.status().message()));
      absl::StatusOr<std::string> pem = ToPem(key->get());
      if (!pem.ok()) return pem.status();
      keys.push_back({jwk.value("kid", ""), AlgForKey(key->get()), *std::move(pem)});
    }
  }
  if (keys.empty())
    return absl::InvalidArgumentError("JWT verification needs a public key or a JWKS");
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(config, std::move(keys), std::move(clock)));
}

absl::StatusOr<VerifiedIdentity> JwtVerifier::Verify(absl::string_view token) const {
  const absl::Time now = clock_();
  std::optional<Verified> verified;
  {
    absl::MutexLock lock(&cache_mu_);
    if (auto it = cache_.find(token); it != cache_.end()) verified = it->second;
  }
  if (!verified.has_value()) {
    absl::StatusOr<Verified> fresh = VerifyUncached(token);
    if (!fresh.ok()) return fresh.status();
    verified = *fresh;
    absl::MutexLock lock(&cache_mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_.emplace(std::string(token), *fresh);
  }
  // Time checks run on every use, cached or not.
  if (now >= verified->expires + config_.leeway) return Unauthenticated("expired");
  if (now + config_.leeway < verified->not_before) return Unauthenticated("not yet valid");
  return verified->identity;
}

absl::StatusOr<JwtVerifier::Verified> JwtVerifier::VerifyUncached(absl::string_view token) const {
  if (token.size() > 16 * 1024) return Unauthenticated("too long");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return Unauthenticated("not a signed JWT (header.payload.signature)");
  }
  std::optional<json> header = DecodeJsonPart(parts[0]);
  if (!header) return Unauthenticated("malformed header");
  const json& alg_j = (*header)["alg"];
  const std::string alg = alg_j.is_string() ? alg_j.get<std::string>() : "";
  if (alg != "RS256" && alg != "ES256")
    return Unauthenticated(absl::StrCat("alg \"", alg, "\" not accepted"));
  const std::string kid = header->contains("kid") && (*header)["kid"].is_string()
                              ? (*header)["kid"].get<std::string>()
                              : "";
  const std::string token_str(token);
  bool key_found = false;
  bool verified = false;
  for (const Key& key : keys_) {
    if (key.alg != alg || (!kid.empty() && !key.kid.empty() && key.kid != kid)) continue;
    key_found = true;
    jwt_t* raw = nullptr;
    const int rc =
        jwt_decode(&raw, token_str.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                   static_cast<int>(key.pem.size()));
    JwtPtr jwt(raw);
    const jwt_alg_t expected = alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
    if (rc == 0 && jwt && jwt_get_alg(jwt.get()) == expected) {
      verified = true;
      break;
    }
  }
  if (!key_found)
    return Unauthenticated(absl::StrCat("no ", alg, " key", kid.empty() ? "" : " with kid " + kid));
  if (!verified) return Unauthenticated("signature does not verify");

  std::optional<json> claims = DecodeJsonPart(parts[1]);
  if (!claims) return Unauthenticated("malformed payload");
  Verified out;
  const std::optional<absl::Time> exp = NumericDate((*claims)["exp"]);
  if (!exp) return Unauthenticated("no valid exp");
  out.expires = *exp;
  if (claims->contains("nbf")) {
    const std::optional<absl::Time> nbf = NumericDate((*claims)["nbf"]);
    if (!nbf) return Unauthenticated("nbf is not a number");
    out.not_before = *nbf;
  }
  if (!config_.issuer.empty()) {
    const json& iss = (*claims)["iss"];
    if (!iss.is_string() || iss.get<std::string>() != config_.issuer)
      return Unauthenticated("wrong issuer");
  }
  if (!config_.audience.empty()) {
    const json& aud = (*claims)["aud"];
    bool ok = aud.is_string() && aud.get<std::string>() == config_.audience;
    if (aud.is_array()) {
      for (const json& a : aud)
        ok = ok || (a.is_string() && a.get<std::string>() == config_.audience);
    }
    if (!ok) return Unauthenticated("wrong audience");
  }
  VerifiedIdentity& id = out.identity;
  const json& sub = (*claims)["sub"];
  if (!sub.is_string() || sub.get<std::string>().empty()) return Unauthenticated("no sub");
  id.subject = sub.get<std::string>();
  if (!IsMetadataSafe(id.subject))
    return Unauthenticated("sub must be printable ASCII without ','");
  const json& roles = (*claims)["roles"];
  if (roles.is_array()) {
    for (const json& r : roles) {
      if (!r.is_string()) return Unauthenticated("roles must be strings");
      id.roles.push_back(r.get<std::string>());
    }
  } else if (roles.is_string()) {
    for (absl::string_view r :
         absl::StrSplit(roles.get<std::string>(), absl::ByAnyChar(", "), absl::SkipEmpty())) {
      id.roles.emplace_back(r);
    }
  } else if (!roles.is_null()) {
    return Unauthenticated("roles must be an array of strings or a string");
  }
  for (const std::string& r : id.roles) {
    if (r.empty() || !IsMetadataSafe(r))
      return Unauthenticated("a role has characters metadata cannot carry");
  }
  return out;
}

absl::StatusOr<std::string> BearerToken(absl::string_view authorization) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.empty()) return absl::UnauthenticatedError("missing bearer token");
  if (authorization.size() < 7 || !absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError("the Authorization header must be \"Bearer <token>\"");
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(7));
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  return std::string(token);
}

}  // namespace rentmesh
