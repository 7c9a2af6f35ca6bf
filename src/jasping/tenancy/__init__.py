"""Organizations (tenants), users, memberships with roles, and API keys."""
