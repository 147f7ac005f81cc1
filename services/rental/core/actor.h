#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rentmesh::rental {

// Who asks. A customer (verified at the edge) may act only on their own
// rentals; a librarian manages books and may act for anyone. Calls from inside
// the mesh carry no identity and are not restricted here (the mesh's
// AuthorizationPolicy decides who may call).
struct Actor {
  bool restricted = false;
  std::string customer_id;
  bool librarian = false;

  static Actor Internal() { return Actor{}; }
  static Actor Customer(std::string id) { return Actor{true, std::move(id), false}; }
  static Actor Librarian(std::string id) { return Actor{true, std::move(id), true}; }

  absl::Status MayActFor(const std::string& customer) const {
    if (!restricted || librarian || customer_id == customer) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("\"", customer_id, "\" may not act on the rentals of \"", customer, "\""));
  }
  absl::Status MayManageBooks() const {
    if (!restricted || librarian) return absl::OkStatus();
    return absl::PermissionDeniedError("only a librarian may add or stock books");
  }
  absl::Status MaySetTiers() const {
    if (!restricted || librarian) return absl::OkStatus();
    return absl::PermissionDeniedError("only a librarian may set a customer's tier");
  }
};

}  // namespace rentmesh::rental
