"""Integrations: the business's own calendars, lead sinks, mailers and file stores, behind one registry
(`service.register`) and one API (`/api/v1/integrations`)."""
