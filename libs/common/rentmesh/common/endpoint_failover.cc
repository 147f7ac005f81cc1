#include "rentmesh/common/endpoint_failover.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace rentmesh {

std::vector<std::shared_ptr<grpc::Channel>> FailoverChannels(
    const std::string& addresses, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (absl::string_view a : absl::StrSplit(addresses, ',', absl::SkipWhitespace())) {
    grpc::ChannelArguments args;
    args.SetLoadBalancingPolicyName("round_robin");
    out.push_back(
        grpc::CreateCustomChannel(std::string(absl::StripAsciiWhitespace(a)), credentials, args));
  }
  return out;
}

}  // namespace rentmesh
