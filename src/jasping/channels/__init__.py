"""Channels: the edges where customers reach an agent (web chat, WhatsApp, Twilio voice and SMS), all speaking
one interface (`base`) so that the agent's turn loop never knows which one it serves."""
