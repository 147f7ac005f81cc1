#!/usr/bin/env python3
"""Writes the Grafana dashboards into helm/rentmesh/dashboards/ (run after editing).

Every query uses only the metric names of libs/telemetry/rentmesh/telemetry/metric_names.h.
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "helm", "rentmesh", "dashboards")
DS = {"type": "prometheus", "uid": "${datasource}"}


def panel(pid, title, desc, exprs, x, y, w=12, h=8, unit="short", kind="timeseries"):
    return {
        "id": pid, "type": kind, "title": title, "description": desc, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": e, "legendFormat": l, "datasource": DS}
                    for i, (e, l) in enumerate(exprs)],
    }


def dashboard(uid, title, panels, variables):
    templ = [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]
    for name, query in variables:
        templ.append({"name": name, "type": "query", "datasource": DS, "query": query,
                      "definition": query, "refresh": 2, "includeAll": True, "multi": True,
                      "allValue": ".*", "current": {"text": "All", "value": "$__all"}})
    return {"uid": uid, "title": title, "tags": ["rentmesh"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": templ}, "panels": panels}


SEL = 'service=~"$service",method=~"$method"'
overview = dashboard("rentmesh-overview", "rentmesh / service overview (RED)", [
    panel(1, "Request rate by service",
          "Rate: RPCs completed per second, per gRPC service (all codes).",
          [(f'sum by (service) (rate(rentmesh_grpc_server_handled_total{{{SEL}}}[5m]))', "{{service}}")],
          0, 0, unit="reqps"),
    panel(2, "Error ratio by service",
          "Errors: share of RPCs that ended with a code other than OK, NOT_FOUND, ALREADY_EXISTS, "
          "INVALID_ARGUMENT or FAILED_PRECONDITION (those are answers, not failures).",
          # "or ... * 0": a healthy service has no error series at all, and
          # should show 0, not "No data".
          [(f'(sum by (service) (rate(rentmesh_grpc_server_handled_total{{{SEL},code!~"OK|NOT_FOUND|ALREADY_EXISTS|INVALID_ARGUMENT|FAILED_PRECONDITION"}}[5m])) '
            f'or sum by (service) (rate(rentmesh_grpc_server_handled_total{{{SEL}}}[5m])) * 0) '
            f'/ clamp_min(sum by (service) (rate(rentmesh_grpc_server_handled_total{{{SEL}}}[5m])), 1e-9)', "{{service}}")],
          12, 0, unit="percentunit"),
    panel(3, "p99 latency by method",
          "Duration: 99th percentile handling time per method, from the server histogram.",
          [(f'histogram_quantile(0.99, sum by (service, method, le) (rate(rentmesh_grpc_server_handling_seconds_bucket{{{SEL}}}[5m])))',
            "{{service}}/{{method}}")], 0, 8, unit="s"),
    panel(4, "p50 latency by method", "Duration: median handling time per method.",
          [(f'histogram_quantile(0.5, sum by (service, method, le) (rate(rentmesh_grpc_server_handling_seconds_bucket{{{SEL}}}[5m])))',
            "{{service}}/{{method}}")], 12, 8, unit="s"),
    panel(5, "Requests by method and code",
          "Rate per method and status code: UNAVAILABLE on RentBook means payment is down or the "
          "circuit is open; RESOURCE_EXHAUSTED means a service shed load.",
          [(f'sum by (service, method, code) (rate(rentmesh_grpc_server_handled_total{{{SEL}}}[5m]))',
            "{{method}} {{code}}")], 0, 16, w=24),
    panel(6, "Pending work", "Accepted work not yet finished (saga steps, outbox), per pod.",
          [('sum by (pod) (rentmesh_pending_work)', "{{pod}}")], 0, 24),
    panel(7, "Rebuild progress", "Share of the JetStream history each pod has applied to its "
          "RocksDB state; below 1 the pod is NOT_SERVING (catching up).",
          [('min by (pod) (rentmesh_rebuild_progress_ratio)', "{{pod}}")], 12, 24, unit="percentunit"),
    panel(8, "RocksDB size", "Live SST bytes and memtable bytes per pod: the local state store.",
          [('sum by (pod) (rentmesh_rocksdb_live_sst_bytes)', "sst {{pod}}"),
           ('sum by (pod) (rentmesh_rocksdb_memtable_bytes)', "memtable {{pod}}")], 0, 32, w=24, unit="bytes"),
    panel(9, "Deliveries awaiting a courier",
          "Paid rentals whose delivery has no courier yet (REQUESTED), per region. A region with "
          "couriers stays near 0; one without grows (alert RentmeshDeliveriesAwaitingCourier).",
          [('max by (region) (rentmesh_delivery_awaiting_courier)', "{{region}}")], 0, 40),
    panel(10, "Oldest delivery awaiting a courier",
          "How long the oldest REQUESTED delivery of each region has waited for a courier.",
          [('max by (region) (rentmesh_delivery_awaiting_courier_oldest_seconds)', "{{region}}")],
          12, 40, unit="s"),
], [("service", "label_values(rentmesh_grpc_server_handled_total, service)"),
    ("method", 'label_values(rentmesh_grpc_server_handled_total{service=~"$service"}, method)')])

events = dashboard("rentmesh-events", "rentmesh / event flow", [
    panel(1, "Events published by stream and type",
          "Events appended to JetStream per second (RENTAL, PAYMENT, RETURNS, DEADLETTER).",
          [('sum by (stream, type) (rate(rentmesh_events_published_total{stream=~"$stream"}[5m]))',
            "{{stream}} {{type}}")], 0, 0, unit="ops"),
    panel(2, "Events consumed by consumer",
          "Events handled and acknowledged per second, per durable consumer.",
          [('sum by (consumer) (rate(rentmesh_events_consumed_total{consumer=~"$consumer"}[5m]))',
            "{{consumer}}")], 12, 0, unit="ops"),
    panel(3, "Consumer lag", "Messages a durable consumer has not acknowledged yet. Growing lag: "
          "the consumer is slow or stuck (see the runbook).",
          [('max by (consumer) (rentmesh_consumer_lag{consumer=~"$consumer"})', "{{consumer}}")], 0, 8),
    panel(4, "Redeliveries", "Deliveries that were not the first: handler errors, timeouts or "
          "crashed pods. A steady rate points to a poison message.",
          [('sum by (consumer) (rate(rentmesh_events_redelivered_total{consumer=~"$consumer"}[5m]))',
            "{{consumer}}")], 12, 8, unit="ops"),
    panel(5, "Dead-lettered (last hour)", "Messages moved to DEADLETTER after the redelivery bound. "
          "Anything above zero needs a person (runbook: consumer stuck / dead letters).",
          [('sum by (consumer) (increase(rentmesh_events_dead_lettered_total{consumer=~"$consumer"}[1h]))',
            "{{consumer}}")], 0, 16, kind="stat"),
    panel(6, "Publish vs consume", "Total publish and consume rates; the gap is the backlog growth.",
          [('sum(rate(rentmesh_events_published_total[5m]))', "published"),
           ('sum(rate(rentmesh_events_consumed_total[5m]))', "consumed")], 12, 16, unit="ops"),
], [("stream", "label_values(rentmesh_events_published_total, stream)"),
    ("consumer", "label_values(rentmesh_consumer_lag, consumer)")])

os.makedirs(OUT, exist_ok=True)
for fname, d in (("rentmesh-overview.json", overview), ("rentmesh-events.json", events)):
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
print("wrote", OUT)
