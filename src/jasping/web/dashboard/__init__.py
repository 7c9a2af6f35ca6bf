"""The server-rendered dashboard (Jinja2, no front-end build step)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"
