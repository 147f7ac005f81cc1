#include "rentmesh/common/ids.h"

#include <openssl/evp.h>

#include <cstdint>
#include <random>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace rentmesh {

std::string NewId(absl::string_view prefix) {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  std::string raw(16, '\0');
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<char>(hi >> (56 - 8 * i));
    raw[8 + i] = static_cast<char>(lo >> (56 - 8 * i));
  }
  return absl::StrCat(prefix, absl::BytesToHexString(raw));
}

std::string DerivedId(absl::string_view prefix, std::initializer_list<absl::string_view> parts) {
  std::string input;
  for (absl::string_view p : parts) {
    // Length-prefix each part so ("ab","c") and ("a","bc") differ.
    absl::StrAppend(&input, p.size(), ":", p);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha256(), nullptr);
  return absl::StrCat(prefix,
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 16)));
}

}  // namespace rentmesh
