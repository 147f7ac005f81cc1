#pragma once

// The edge verifies tokens with the same verifier the services use
// (libs/common), so both accept exactly the same keys and claims.
#include "rentmesh/common/jwt_verifier.h"

namespace rentmesh::gateway {

using ::rentmesh::BearerToken;
using ::rentmesh::JwtVerifier;
using ::rentmesh::JwtVerifierConfig;
using ::rentmesh::VerifiedIdentity;

}  // namespace rentmesh::gateway
