#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace rentmesh::telemetry {

// A monotonically increasing value (Prometheus counter). Thread-safe, lock-free.
class Counter final {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `amount`; negative amounts are a programming error and are ignored.
  void Increment(double amount = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (Prometheus gauge). Thread-safe, lock-free.
class Gauge final {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into fixed buckets (Prometheus histogram). Thread-safe,
// lock-free; Observe costs a binary search and three atomic updates.
class Histogram final {
 public:
  // `upper_bounds` must be sorted ascending and finite; +Inf is implicit.
  explicit Histogram(absl::Span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;         // without +Inf
    std::vector<uint64_t> cumulative_counts;  // one per bound, then the +Inf bucket
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  // Non-cumulative: bucket i counts bound[i-1] < v <= bound[i]; the last is +Inf.
  const std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

// Latency buckets in seconds shared by every RPC and handler histogram.
std::vector<double> DefaultLatencyBucketsSeconds();

// A metric name with one child per combination of label values. Children live
// as long as the family (which lives as long as its registry), so callers on a
// hot path should look a child up once and keep the reference.
template <typename T>
class Family final {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;

  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        factory_(std::move(factory)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values (one per label name, in declaration
  // order), created on first use. A wrong number of values is a programming
  // error and aborts.
  T& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(absl::MakeConstSpan(values.begin(), values.size()));
  }
  T& WithLabels(absl::Span<const std::string_view> values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls `fn(label_values, child)` for every child, sorted by label values.
  void ForEach(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const Factory factory_;
  mutable absl::Mutex mu_;
  // Keyed by the label values joined with '\xff' (cannot appear in UTF-8).
  absl::node_hash_map<std::string, std::pair<std::vector<std::string>, std::unique_ptr<T>>>
      children_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Owns every metric family of one process and renders them in the Prometheus
// text exposition format (version 0.0.4). Registration is get-or-create: asking
// again for a name with the same type and labels returns the same family;
// asking with a different type, labels or buckets, or an invalid name, is a
// programming error and aborts.
class MetricsRegistry final {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& AddCounter(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds);

  // Registers `fn`, run at the start of every ExposeText (e.g. to copy RocksDB
  // properties into gauges). It must not call back into this registry's
  // OnCollect; it may create children and set values.
  void OnCollect(std::function<void()> fn);

  // The whole registry in the text exposition format, families sorted by name.
  std::string ExposeText() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Entry {
    Kind kind;
    std::vector<std::string> label_names;
    std::vector<double> upper_bounds;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  Entry& GetOrCreate(std::string_view name, std::string_view help, Kind kind,
                     std::vector<std::string> label_names, std::vector<double> upper_bounds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::node_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex collect_mu_;
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(collect_mu_);
};

// Exposition helpers, exposed for tests.
std::string FormatSampleValue(double value);
std::string EscapeLabelValue(std::string_view value);

}  // namespace rentmesh::telemetry
