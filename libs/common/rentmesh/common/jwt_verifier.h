#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rentmesh {

struct JwtVerifierConfig {
  // One RSA or EC P-256 public key in PEM ("-----BEGIN PUBLIC KEY-----"), or
  // a JWKS document ({"keys":[{"kty":"RSA","n","e","kid"} |
  // {"kty":"EC","crv":"P-256","x","y","kid"}]}). At least one of the two.
  std::string public_key_pem;
  std::string jwks_json;
  // Checked when not empty: "iss" must equal issuer, "aud" (string or array)
  // must contain audience.
  std::string issuer;
  std::string audience;
  // Tolerated clock skew for exp and nbf.
  absl::Duration leeway = absl::Seconds(30);
};

// Who a verified token says the caller is.
struct VerifiedIdentity {
  std::string subject;             // "sub": the customer id
  std::vector<std::string> roles;  // "roles": array of strings, or one comma/space-separated string
};

// Verifies RS256/ES256 JWTs (signature via libjwt) and their claims. Any
// other alg (none, HS*) is refused, so a public key can never be used as an
// HMAC secret. A verified token is remembered (bounded cache keyed by the
// exact token bytes, so a hit is as good as a signature check); exp and nbf
// are checked against the clock on every use. Thread-safe.
class JwtVerifier final {
 public:
  // INVALID_ARGUMENT when no usable key is configured or a key does not parse.
  static absl::StatusOr<std::unique_ptr<JwtVerifier>> Create(
      const JwtVerifierConfig& config, std::function<absl::Time()> clock = &absl::Now);

  // The identity of a valid token; UNAUTHENTICATED with the reason otherwise
  // (malformed, bad signature, unknown kid, expired, not yet valid, wrong
  // issuer or audience, no "sub", claim values metadata cannot carry).
  absl::StatusOr<VerifiedIdentity> Verify(absl::string_view token) const;

 private:
  static constexpr size_t kMaxCachedTokens = 10000;
  struct Verified {
    VerifiedIdentity identity;
    absl::Time expires;
    absl::Time not_before = absl::InfinitePast();
  };
  // Signature, iss, aud, sub, roles; exp/nbf parsed, not compared.
  absl::StatusOr<Verified> VerifyUncached(absl::string_view token) const;

  struct Key {
    std::string kid;  // empty: matches any token kid
    std::string alg;  // "RS256" or "ES256", from the key type
    std::string pem;
  };
  JwtVerifier(const JwtVerifierConfig& config, std::vector<Key> keys,
              std::function<absl::Time()> clock)
      : config_(config), keys_(std::move(keys)), clock_(std::move(clock)) {}

  JwtVerifierConfig config_;
  std::vector<Key> keys_;
  std::function<absl::Time()> clock_;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, Verified> cache_ ABSL_GUARDED_BY(cache_mu_);
};

// The token of an "Authorization: Bearer <token>" header value;
// UNAUTHENTICATED when it is missing or not a Bearer credential.
absl::StatusOr<std::string> BearerToken(absl::string_view authorization);

}  // namespace rentmesh
