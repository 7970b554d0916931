"""Shipped pipeline configs (YAML)."""
