"""Provider webhooks: verify the signature, route by the business number, store the events, answer at once.
The work (the agent's reply, its delivery) is done by jobs."""
