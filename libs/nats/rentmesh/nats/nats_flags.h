#pragma once

#include "rentmesh/nats/jetstream.h"

namespace rentmesh::nats {

// The NATS connection flags every service binary shares:
//   --nats_credentials  file of the service's user= and password= lines
//   --nats_tls_ca, --nats_tls_cert, --nats_tls_key   TLS to NATS
// Read only from a main.
ConnectOptions ConnectOptionsFromFlags();

}  // namespace rentmesh::nats
