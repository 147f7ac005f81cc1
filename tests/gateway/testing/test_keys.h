#pragma once

#include <string>

namespace rentmesh::gateway::testing {

// A freshly generated key pair in PEM.
struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// RSA 2048 (for RS256) or EC P-256 (for ES256). Crashes if OpenSSL fails:
// test setup, not input.
KeyPair GenerateRsaKeyPair();
KeyPair GenerateEcKeyPair();

// A JWT signed with `private_pem` by libjwt; `alg` "RS256" or "ES256";
// `claims_json` the payload object; `kid` added to the header when not empty.
std::string MintToken(const std::string& alg, const std::string& private_pem,
                      const std::string& claims_json, const std::string& kid = "");

// A JWKS with one key (`public_pem`, RSA or EC P-256) under `kid`.
std::string JwksFor(const std::string& public_pem, const std::string& kid);

}  // namespace rentmesh::gateway::testing
