"""Analytics of an organization's agents: what they resolve, what they hand off, what they cannot answer."""
