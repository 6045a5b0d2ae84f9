"""Dashboards and alert rules as code: the Grafana dashboard, the Prometheus rules (a plain rules file and a
PrometheusRule for the chart) and the files generated from them (`python -P -m sreops.observability`)."""
