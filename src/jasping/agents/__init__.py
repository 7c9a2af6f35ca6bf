"""Agents: the configured assistants of an organization (name, languages, persona, greeting)."""
