#include "rentmesh/telemetry/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"

namespace rentmesh::telemetry {
namespace {

// Misuse of the registry is a bug in the caller's startup code, never input.
[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "rentmesh_telemetry: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name == "le" || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with `extra` (already formatted, e.g. `le="0.5"`) last;
// empty when there is nothing to print.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra = {}) {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help,
                  absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

void Counter::Increment(double amount) {
  if (!(amount >= 0)) return;  // also rejects NaN
  AtomicAdd(value_, amount);
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(absl::Span<const double> upper_bounds)
    : upper_bounds_(upper_bounds.begin(), upper_bounds.end()),
      buckets_(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i] <= upper_bounds_[i - 1])) {
      Die("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  // First bound >= value: Prometheus buckets are "less than or equal".
  const size_t index = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.upper_bounds = upper_bounds_;
  s.cumulative_counts.resize(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative_counts[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // Report the bucket total as the count so that a scrape racing with Observe
  // never shows count != +Inf bucket.
  s.count = running;
  return s;
}

std::vector<double> DefaultLatencyBucketsSeconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <typename T>
T& Family<T>::WithLabels(absl::Span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    Die(absl::StrCat(name_, ": expected ", label_names_.size(), " label values, got ",
                     values.size()));
  }
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key += '\xff';
    key.append(values[i].data(), values[i].size());
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return *it->second.second;
  }
  absl::MutexLock lock(&mu_);
  auto& slot = children_[key];
  if (slot.second == nullptr) {
    slot.first.assign(values.begin(), values.end());
    slot.second = factory_();
  }
  return *slot.second;
}

template <typename T>
void Family<T>::ForEach(
    const std::function<void(const std::vector<std::string>&, const T&)>& fn) const {
  std::vector<std::pair<const std::vector<std::string>*, const T*>> sorted;
  {
    absl::ReaderMutexLock lock(&mu_);
    sorted.reserve(children_.size());
    for (const auto& [key, child] : children_)
      sorted.emplace_back(&child.first, child.second.get());
  }
  // Children are never removed, so the pointers stay valid without the lock.
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (const auto& [labels, child] : sorted) fn(*labels, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::Entry& MetricsRegistry::GetOrCreate(std::string_view name, std::string_view help,
                                                     Kind kind,
                                                     std::vector<std::string> label_names,
                                                     std::vector<double> upper_bounds) {
  if (!IsValidMetricName(name)) Die(absl::StrCat("invalid metric name: ", std::string(name)));
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label))
      Die(absl::StrCat(std::string(name), ": invalid label name: ", label));
  }
  const std::string key(name);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    const Entry& e = it->second;
    if (e.kind != kind || e.label_names != label_names || e.upper_bounds != upper_bounds) {
      Die(absl::StrCat("metric registered twice with different shapes: ", std::string(name)));
    }
    return it->second;
  }
  Entry& e = entries_[key];
  e.kind = kind;
  e.label_names = label_names;
  e.upper_bounds = upper_bounds;
  std::string h(help);
  switch (kind) {
    case Kind::kCounter:
      e.counter = std::make_unique<CounterFamily>(key, h, std::move(label_names),
                                                  [] { return std::make_unique<Counter>(); });
      break;
    case Kind::kGauge:
      e.gauge = std::make_unique<GaugeFamily>(key, h, std::move(label_names),
                                              [] { return std::make_unique<Gauge>(); });
      break;
    case Kind::kHistogram:
      e.histogram = std::make_unique<HistogramFamily>(
          key, h, std::move(label_names),
          [bounds = std::move(upper_bounds)] { return std::make_unique<Histogram>(bounds); });
      break;
  }
  return e;
}

CounterFamily& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  return *GetOrCreate(name, help, Kind::kCounter, std::move(label_names), {}).counter;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  return *GetOrCreate(name, help, Kind::kGauge, std::move(label_names), {}).gauge;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> upper_bounds) {
  // Validate here too so a bad bound fails at registration, not first Observe.
  Histogram probe(upper_bounds);
  absl::MutexLock lock(&mu_);
  return *GetOrCreate(name, help, Kind::kHistogram, std::move(label_names), std::move(upper_bounds))
              .histogram;
}

void MetricsRegistry::OnCollect(std::function<void()> fn) {
  absl::MutexLock lock(&collect_mu_);
  collectors_.push_back(std::move(fn));
}

std::string MetricsRegistry::ExposeText() const {
  {
    absl::MutexLock lock(&collect_mu_);
    for (const auto& fn : collectors_) fn();
  }
  std::vector<std::pair<std::string, const Entry*>> sorted;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, entry] : entries_) sorted.emplace_back(name, &entry);
  }
  // Entries are never removed and node_hash_map keeps them in place.
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, entry] : sorted) {
    switch (entry->kind) {
      case Kind::kCounter: {
        const CounterFamily& f = *entry->counter;
        AppendHeader(out, name, f.help(), "counter");
        f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
          absl::StrAppend(&out, name, LabelSet(f.label_names(), labels), " ",
                          FormatSampleValue(c.Value()), "\n");
        });
        break;
      }
      case Kind::kGauge: {
        const GaugeFamily& f = *entry->gauge;
        AppendHeader(out, name, f.help(), "gauge");
        f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
          absl::StrAppend(&out, name, LabelSet(f.label_names(), labels), " ",
                          FormatSampleValue(g.Value()), "\n");
        });
        break;
      }
      case Kind::kHistogram: {
        const HistogramFamily& f = *entry->histogram;
        AppendHeader(out, name, f.help(), "histogram");
        f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
          const Histogram::Snapshot s = h.Read();
          for (size_t i = 0; i <= s.upper_bounds.size(); ++i) {
            const std::string le = i < s.upper_bounds.size() ? FormatSampleValue(s.upper_bounds[i])
                                                             : std::string("+Inf");
            absl::StrAppend(&out, name, "_bucket",
                            LabelSet(f.label_names(), labels, absl::StrCat("le=\"", le, "\"")), " ",
                            s.cumulative_counts[i], "\n");
          }
          absl::StrAppend(&out, name, "_sum", LabelSet(f.label_names(), labels), " ",
                          FormatSampleValue(s.sum), "\n");
          absl::StrAppend(&out, name, "_count", LabelSet(f.label_names(), labels), " ", s.count,
                          "\n");
        });
        break;
      }
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {  // 2^53
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  // Prefer the shortest representation that reads back to the same double.
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buf;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace rentmesh::telemetry
