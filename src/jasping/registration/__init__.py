"""Registration risk: signals at sign-up, a level with reasons, phone verification and human review (issue 11)."""
