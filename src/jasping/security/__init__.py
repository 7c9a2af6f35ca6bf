"""Passwords, dashboard sessions, CSRF, and the tamper-evident audit log."""
