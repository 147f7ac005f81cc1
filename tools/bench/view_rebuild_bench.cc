// Rebuild rate: fills the streams with 100,000 events (33,334 rentals:
// RentalRequested + BookRented on RENTAL, PaymentApproved on PAYMENT), then
// starts view_server on an empty store and times it until it reports SERVING
// (caught up with all three streams). Prints events/s, wall-clock from process
// start, from the view's own "caught up" log line (followers start -> caught
// up), and per CPU-second the view used (the figure that does not depend on
// what else the shared machine is running).
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "view_bench_support.h"

namespace rentmesh::view::bench {
namespace {

constexpr int kRentals = 33334;

// The "ms" field of the view's "caught up" log line, or -1.
double CaughtUpMillis(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"msg\":\"caught up\"") == std::string::npos) continue;
    size_t at = line.find("\"ms\":\"");
    if (at == std::string::npos) continue;
    return std::atof(line.c_str() + at + 6);
  }
  return -1;
}

// CPU seconds (user + system) the process has used so far.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which is in parentheses); utime and stime
  // are fields 14 and 15 of the line.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int Main() {
  testing::TempDir dir;
  auto nats_server = testing::NatsServer::Start();
  if (!nats_server.ok()) Die("nats-server", nats_server.status());
  auto js = nats::JetStream::Connect((*nats_server)->url(), "bench", absl::Seconds(10));
  if (!js.ok()) Die("connect", js.status());
  EnsureStreams(**js);
  const absl::Time fill_start = absl::Now();
  {
    PipelinedPublisher pub(**js);
    const absl::Time t0 = absl::Now() - absl::Hours(24 * 30);
    for (int i = 0; i < kRentals; ++i) {
      PublishRental(pub, absl::StrCat("r-", i), absl::StrCat("book-", i % 500),
                    absl::StrCat("cust-", i % 5000), t0 + absl::Seconds(i));
    }
    pub.Drain();
  }
  const uint64_t events = *(*js)->LastSequence("RENTAL") + *(*js)->LastSequence("PAYMENT");
  std::printf("filled the streams with %llu events in %.2f s\n",
              static_cast<unsigned long long>(events),
              absl::ToDoubleSeconds(absl::Now() - fill_start));

  const std::string log = dir.Sub("view.log");
  ViewServerProcess view = ViewServerProcess::Start((*nats_server)->url(), dir.Sub("view"), log);
  const double wall_s = absl::ToDoubleSeconds(view.start_to_serving);
  const double cpu_s = CpuSeconds(view.process->pid());
  const double caught_up_s = CaughtUpMillis(log) / 1000.0;
  std::printf("rebuild from an empty store: process start -> SERVING %.2f s = %.0f events/s\n",
              wall_s, events / wall_s);
  if (caught_up_s > 0) {
    std::printf(
        "                             followers start -> caught up %.2f s = %.0f events/s\n",
        caught_up_s, events / caught_up_s);
  }
  std::printf(
      "                             CPU used by view_server until SERVING %.2f s = %.0f "
      "events per CPU-second\n",
      cpu_s, events / cpu_s);
  view.process->Stop(SIGTERM);
  return 0;
}

}  // namespace
}  // namespace rentmesh::view::bench

int main() { return rentmesh::view::bench::Main(); }
