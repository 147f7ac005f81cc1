#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace rentmesh::payment {

// An amount in integer minor units of an ISO 4217 currency ("KRW", 1500).
struct Money {
  std::string currency;
  int64_t amount_minor = 0;
};

inline bool operator==(const Money& a, const Money& b) {
  return a.currency == b.currency && a.amount_minor == b.amount_minor;
}
inline bool operator!=(const Money& a, const Money& b) { return !(a == b); }

// "1500 KRW", for messages a person reads.
inline std::string FormatMoney(const Money& m) {
  return m.currency.empty() ? absl::StrCat(m.amount_minor)
                            : absl::StrCat(m.amount_minor, " ", m.currency);
}

}  // namespace rentmesh::payment
