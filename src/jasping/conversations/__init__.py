"""Contacts (the business's customers), their conversations with an agent, and the messages."""
