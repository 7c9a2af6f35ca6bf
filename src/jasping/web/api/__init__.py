"""The JSON API under /api/v1."""

API = "/api/v1"
