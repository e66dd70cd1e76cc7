"""Prometheus metrics from any program's data (``lmp export``, ``lmp run --metrics``): which
metrics a layout makes (``families``), an exporter sink that keeps them (``exporter``) and the
HTTP endpoint Prometheus scrapes (``server``, prometheus-client's)."""
