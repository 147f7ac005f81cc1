#include "gateway/core/jwt_verifier.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "testing/test_keys.h"

namespace rentmesh::gateway {
namespace {

using testing::GenerateEcKeyPair;
using testing::GenerateRsaKeyPair;
using testing::JwksFor;
using testing::KeyPair;
using testing::MintToken;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string Claims(const std::string& extra = "", int64_t exp = 1800000600) {
  return absl::StrCat(R"({"iss":"rentmesh-dev","aud":"rentmesh","sub":"alice","exp":)", exp, extra,
                      "}");
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new KeyPair(GenerateRsaKeyPair());
    ec_ = new KeyPair(GenerateEcKeyPair());
  }
  std::unique_ptr<JwtVerifier> Make(const std::string& pem, const std::string& jwks = "") {
    JwtVerifierConfig c;
    c.public_key_pem = pem;
    c.jwks_json = jwks;
    c.issuer = "rentmesh-dev";
    c.audience = "rentmesh";
    auto v = JwtVerifier::Create(c, [] { return kNow; });
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }
  static KeyPair* rsa_;
  static KeyPair* ec_;
};
KeyPair* JwtVerifierTest::rsa_ = nullptr;
KeyPair* JwtVerifierTest::ec_ = nullptr;

TEST_F(JwtVerifierTest, AcceptsRs256AndReadsSubjectAndRoles) {
  auto v = Make(rsa_->public_pem);
  auto id =
      v->Verify(MintToken("RS256", rsa_->private_pem, Claims(R"(,"roles":["librarian","staff"])")));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->subject, "alice");
  EXPECT_EQ(id->roles, (std::vector<std::string>{"librarian", "staff"}));
}

TEST_F(JwtVerifierTest, AcceptsEs256AndRolesAsAString) {
  auto v = Make(ec_->public_pem);
  auto id =
      v->Verify(MintToken("ES256", ec_->private_pem, Claims(R"(,"roles":"librarian customer")")));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->roles, (std::vector<std::string>{"librarian", "customer"}));
}

TEST_F(JwtVerifierTest, AcceptsKeysFromAJwksByKid) {
  const std::string jwks = JwksFor(rsa_->public_pem, "k1");
  auto v = Make("", jwks);
  EXPECT_TRUE(v->Verify(MintToken("RS256", rsa_->private_pem, Claims(), "k1")).ok());
  EXPECT_EQ(v->Verify(MintToken("RS256", rsa_->private_pem, Claims(), "k2")).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto ec = Make("", JwksFor(ec_->public_pem, "e1"));
  EXPECT_TRUE(ec->Verify(MintToken("ES256", ec_->private_pem, Claims(), "e1")).ok());
}

TEST_F(JwtVerifierTest, RejectsBadClaims) {
  auto v = Make(rsa_->public_pem);
  const std::pair<const char*, std::string> cases[] = {
      {"expired", MintToken("RS256", rsa_->private_pem, Claims("", 1800000000 - 60))},
      {"not yet valid", MintToken("RS256", rsa_->private_pem, Claims(R"(,"nbf":1800000900)"))},
      {"wrong issuer", MintToken("RS256", rsa_->private_pem,
                                 R"({"iss":"evil","aud":"rentmesh","sub":"a","exp":1800000600})")},
      {"wrong audience",
       MintToken("RS256", rsa_->private_pem,
                 R"({"iss":"rentmesh-dev","aud":["x"],"sub":"a","exp":1800000600})")},
      {"no sub", MintToken("RS256", rsa_->private_pem,
                           R"({"iss":"rentmesh-dev","aud":"rentmesh","exp":1800000600})")},
      {"no exp", MintToken("RS256", rsa_->private_pem,
                           R"({"iss":"rentmesh-dev","aud":"rentmesh","sub":"a"})")},
      {"roles", MintToken("RS256", rsa_->private_pem, Claims(R"(,"roles":[1])"))},
  };
  for (const auto& [name, token] : cases) {
    EXPECT_EQ(v->Verify(token).status().code(), absl::StatusCode::kUnauthenticated) << name;
  }
}

TEST_F(JwtVerifierTest, RejectsForgedOrMalformedTokens) {
  auto v = Make(rsa_->public_pem);
  const KeyPair other = GenerateRsaKeyPair();
  EXPECT_FALSE(v->Verify(MintToken("RS256", other.private_pem, Claims())).ok()) << "other key";
  EXPECT_FALSE(v->Verify(MintToken("ES256", ec_->private_pem, Claims())).ok())
      << "alg/key mismatch";
  // alg "none" and HS256 keyed with the public key (the classic confusion).
  std::string header, payload;
  absl::WebSafeBase64Escape(R"({"alg":"none","typ":"JWT"})", &header);
  absl::WebSafeBase64Escape(Claims(), &payload);
  EXPECT_FALSE(v->Verify(header + "." + payload + ".").ok());
  EXPECT_FALSE(v->Verify(header + "." + payload + ".x").ok());
  absl::WebSafeBase64Escape(R"({"alg":"HS256","typ":"JWT"})", &header);
  EXPECT_FALSE(v->Verify(header + "." + payload + ".c2ln").ok());
  // Tampered payload.
  std::string good = MintToken("RS256", rsa_->private_pem, Claims());
  std::string tampered_payload;
  absl::WebSafeBase64Escape(Claims(R"(,"roles":["librarian"])"), &tampered_payload);
  const size_t d1 = good.find('.'), d2 = good.rfind('.');
  EXPECT_FALSE(v->Verify(good.substr(0, d1 + 1) + tampered_payload + good.substr(d2)).ok());
  for (const char* junk : {"", "a", "a.b", "a.b.c", "....", "\xff.\xff.\xff"}) {
    EXPECT_EQ(v->Verify(junk).status().code(), absl::StatusCode::kUnauthenticated) << junk;
  }
}

TEST_F(JwtVerifierTest, CreateRefusesUnusableKeys) {
  EXPECT_FALSE(JwtVerifier::Create(JwtVerifierConfig{}).ok());
  JwtVerifierConfig c;
  c.public_key_pem = "not a key";
  EXPECT_FALSE(JwtVerifier::Create(c).ok());
  c.public_key_pem = "";
  c.jwks_json = R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})";
  EXPECT_FALSE(JwtVerifier::Create(c).ok());
}

TEST_F(JwtVerifierTest, ACachedTokenStillExpires) {
  absl::Time now = kNow;
  JwtVerifierConfig c;
  c.public_key_pem = rsa_->public_pem;
  auto v = *JwtVerifier::Create(c, [&now] { return now; });
  const std::string token = MintToken("RS256", rsa_->private_pem, Claims());
  EXPECT_TRUE(v->Verify(token).ok());
  EXPECT_TRUE(v->Verify(token).ok()) << "from the cache";
  now = kNow + absl::Hours(1);
  EXPECT_EQ(v->Verify(token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(BearerTokenTest, ParsesTheAuthorizationHeader) {
  EXPECT_EQ(*BearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(*BearerToken("bearer  xyz "), "xyz");
  EXPECT_FALSE(BearerToken("").ok());
  EXPECT_FALSE(BearerToken("Basic dXNlcg==").ok());
  EXPECT_FALSE(BearerToken("Bearer ").ok());
}

}  // namespace
}  // namespace rentmesh::gateway
