#include "testing/test_keys.h"

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/escaping.h"

namespace rentmesh::gateway::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "test key setup failed: %s\n", what);
    abort();
  }
}

KeyPair ToPems(EVP_PKEY* key) {
  KeyPair out;
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "private PEM");
  Check(PEM_write_bio_PUBKEY(pub, key) == 1, "public PEM");
  char* data;
  long n = BIO_get_mem_data(priv, &data);
  out.private_pem.assign(data, n);
  n = BIO_get_mem_data(pub, &data);
  out.public_pem.assign(data, n);
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return out;
}

std::string B64Url(const std::string& bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

std::string BnBytes(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

}  // namespace

KeyPair GenerateRsaKeyPair() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  Check(key != nullptr, "RSA keygen");
  return ToPems(key);
}

KeyPair GenerateEcKeyPair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EC keygen");
  return ToPems(key);
}

std::string MintToken(const std::string& alg, const std::string& private_pem,
                      const std::string& claims_json, const std::string& kid) {
  jwt_t* jwt = nullptr;
  Check(jwt_new(&jwt) == 0, "jwt_new");
  Check(jwt_add_grants_json(jwt, claims_json.c_str()) == 0, "claims");
  if (!kid.empty()) Check(jwt_add_header(jwt, "kid", kid.c_str()) == 0, "kid");
  const jwt_alg_t a = alg == "ES256" ? JWT_ALG_ES256 : JWT_ALG_RS256;
  Check(jwt_set_alg(jwt, a, reinterpret_cast<const unsigned char*>(private_pem.data()),
                    static_cast<int>(private_pem.size())) == 0,
        "jwt_set_alg");
  char* s = jwt_encode_str(jwt);
  Check(s != nullptr, "jwt_encode_str");
  std::string token(s);
  free(s);
  jwt_free(jwt);
  return token;
}

std::string JwksFor(const std::string& public_pem, const std::string& kid) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Check(key != nullptr, "parse public PEM");
  nlohmann::json jwk;
  jwk["kid"] = kid;
  jwk["use"] = "sig";
  if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) {
    jwk["kty"] = "RSA";
    jwk["alg"] = "RS256";
    jwk["n"] = B64Url(BnBytes(key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = B64Url(BnBytes(key, OSSL_PKEY_PARAM_RSA_E));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["alg"] = "ES256";
    unsigned char point[65];
    size_t len = 0;
    Check(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                          &len) == 1 &&
              len == 65,
          "EC point");
    jwk["x"] = B64Url(std::string(reinterpret_cast<char*>(point + 1), 32));
    jwk["y"] = B64Url(std::string(reinterpret_cast<char*>(point + 33), 32));
  }
  EVP_PKEY_free(key);
  return nlohmann::json{{"keys", nlohmann::json::array({jwk})}}.dump();
}

}  // namespace rentmesh::gateway::testing
