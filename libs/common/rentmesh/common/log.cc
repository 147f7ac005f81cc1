#include "rentmesh/common/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rentmesh {
namespace {

// The service name is set once in main before any thread starts.
std::string& ServiceName() {
  static std::string* name = new std::string("rentmesh");
  return *name;
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void Log(absl::string_view level, absl::string_view msg, std::initializer_list<LogField> fields) {
  std::string line = "{\"ts\":";
  AppendJsonString(&line, absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
  absl::StrAppend(&line, ",\"level\":\"", level, "\",\"service\":");
  AppendJsonString(&line, ServiceName());
  line.append(",\"msg\":");
  AppendJsonString(&line, msg);
  for (const auto& [k, v] : fields) {
    line.push_back(',');
    AppendJsonString(&line, k);
    line.push_back(':');
    AppendJsonString(&line, v);
  }
  line.append("}\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void SetLogService(absl::string_view service) { ServiceName() = std::string(service); }
namespace {
std::atomic<bool> errors_only{false};
}  // namespace

void SetLogErrorsOnly(bool on) { errors_only.store(on, std::memory_order_relaxed); }
void LogInfo(absl::string_view msg, std::initializer_list<LogField> fields) {
  if (!errors_only.load(std::memory_order_relaxed)) Log("info", msg, fields);
}
void LogWarn(absl::string_view msg, std::initializer_list<LogField> fields) {
  if (!errors_only.load(std::memory_order_relaxed)) Log("warn", msg, fields);
}
void LogError(absl::string_view msg, std::initializer_list<LogField> fields) { Log("error", msg, fields); }

}  // namespace rentmesh
