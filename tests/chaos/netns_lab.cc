#include "netns_lab.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rentmesh::chaos {
namespace {

constexpr char kPrefix[] = "rmchaos-";

// Runs a shell command; its output goes to the test's stderr.
absl::Status Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat("`", cmd, "` failed with ", rc));
  return absl::OkStatus();
}

std::string Output(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

// Namespaces and bridges of earlier runs whose process is gone.
void RemoveLeftovers() {
  for (absl::string_view line : absl::StrSplit(Output("ip netns list 2>/dev/null"), '\n')) {
    std::string name(line.substr(0, line.find(' ')));
    if (!absl::StartsWith(name, kPrefix)) continue;
    std::vector<std::string> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (parts.size() == 3 && absl::SimpleAtoi(parts[1], &pid) && kill(pid, 0) != 0) {
      (void)Sh(absl::StrCat("ip netns del ", name));
      (void)Sh(absl::StrCat("ip link del rmcb", pid, " 2>/dev/null || true"));
    }
  }
}

}  // namespace

NetnsLab::NetnsLab(int nodes, int subnet) : nodes_(nodes), subnet_(subnet), pid_(getpid()) {}

absl::StatusOr<std::unique_ptr<NetnsLab>> NetnsLab::Create(int nodes) {
  RemoveLeftovers();
  const std::string routes = Output("ip -4 route show table all 2>/dev/null");
  int subnet = -1;
  for (int i = 0; i < 128; ++i) {
    int x = 64 + (getpid() + i) % 128;
    if (!absl::StrContains(routes, absl::StrCat("10.213.", x, ".")) &&
        !absl::StrContains(routes, "10.0.0.0/8") && !absl::StrContains(routes, "10.213.0.0/16")) {
      subnet = x;
      break;
    }
  }
  if (subnet < 0) return absl::FailedPreconditionError("no free 10.213.X.0/24 for the namespaces");
  std::unique_ptr<NetnsLab> lab(new NetnsLab(nodes, subnet));
  const std::string br = lab->Bridge();
  if (!Sh(absl::StrCat("ip link add ", br, " type bridge 2>/dev/null")).ok()) {
    return absl::UnavailableError("needs CAP_NET_ADMIN (cannot create a bridge)");
  }
  std::vector<std::string> cmds = {absl::StrCat("ip addr add 10.213.", subnet, ".254/24 dev ", br),
                                   absl::StrCat("ip link set ", br, " up")};
  for (int i = 0; i < nodes; ++i) {
    const std::string ns = lab->Namespace(i);
    cmds.push_back(absl::StrCat("ip netns add ", ns));
    cmds.push_back(absl::StrCat("ip link add ", lab->Veth(i, false), " type veth peer name ",
                                lab->Veth(i, true), " netns ", ns));
    cmds.push_back(absl::StrCat("ip link set ", lab->Veth(i, false), " master ", br, " up"));
    cmds.push_back(
        absl::StrCat("ip -n ", ns, " addr add ", lab->Host(i), "/24 dev ", lab->Veth(i, true)));
    cmds.push_back(absl::StrCat("ip -n ", ns, " link set ", lab->Veth(i, true), " up"));
    cmds.push_back(absl::StrCat("ip -n ", ns, " link set lo up"));
  }
  for (const std::string& c : cmds) {
    if (absl::Status s = Sh(c); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("needs CAP_NET_ADMIN (", s.message(), ")"));
    }
  }
  // The bridge forwards at once (no STP learning delay on a fresh bridge
  // with forward_delay 0).
  (void)Sh(absl::StrCat("ip link set ", br, " type bridge forward_delay 0 2>/dev/null"));
  return lab;
}

NetnsLab::~NetnsLab() {
  // The host ends first: a namespace's veth goes only once the namespace is
  // freed, and a next lab of this process reuses the names.
  for (int i = 0; i < nodes_; ++i) {
    (void)Sh(absl::StrCat("ip link del ", Veth(i, false), " 2>/dev/null"));
    (void)Sh(absl::StrCat("ip netns del ", Namespace(i)));
  }
  (void)Sh(absl::StrCat("ip link del ", Bridge()));
}

std::string NetnsLab::Namespace(int node) const { return absl::StrCat(kPrefix, pid_, "-", node); }

std::string NetnsLab::Host(int node) const {
  return absl::StrCat("10.213.", subnet_, ".", node + 1);
}

std::string NetnsLab::Bridge() const { return absl::StrCat("rmcb", pid_); }

std::string NetnsLab::Veth(int node, bool inside) const {
  return absl::StrCat(inside ? "rmcn" : "rmch", pid_, "x", node);
}

absl::Status NetnsLab::Isolate(int node) {
  for (int j = 0; j < nodes_; ++j) {
    if (j == node) continue;
    if (auto s = Sh(absl::StrCat("ip -n ", Namespace(node), " route add blackhole ", Host(j)));
        !s.ok()) {
      return s;
    }
    if (auto s = Sh(absl::StrCat("ip -n ", Namespace(j), " route add blackhole ", Host(node)));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status NetnsLab::Heal(int node) {
  absl::Status result;
  for (int j = 0; j < nodes_; ++j) {
    if (j == node) continue;
    result.Update(Sh(absl::StrCat("ip -n ", Namespace(node), " route del blackhole ", Host(j))));
    result.Update(Sh(absl::StrCat("ip -n ", Namespace(j), " route del blackhole ", Host(node))));
  }
  return result;
}

}  // namespace rentmesh::chaos
