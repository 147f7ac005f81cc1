#include "rentmesh/nats/nats_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, nats_credentials, "",
          "file of the service's NATS user= and password= lines (tools/nats_auth.sh makes them)");
ABSL_FLAG(std::string, nats_tls_ca, "",
          "CA of the NATS servers' certificates; turns on TLS to NATS");
ABSL_FLAG(std::string, nats_tls_cert, "", "client certificate for TLS to NATS (optional)");
ABSL_FLAG(std::string, nats_tls_key, "", "key of --nats_tls_cert");

namespace rentmesh::nats {

ConnectOptions ConnectOptionsFromFlags() {
  return ConnectOptions{absl::GetFlag(FLAGS_nats_credentials), absl::GetFlag(FLAGS_nats_tls_ca),
                        absl::GetFlag(FLAGS_nats_tls_cert), absl::GetFlag(FLAGS_nats_tls_key)};
}

}  // namespace rentmesh::nats
