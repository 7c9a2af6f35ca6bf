"""The agent's brain: the channel-agnostic turn loop, its tools, and the chat models behind it."""
