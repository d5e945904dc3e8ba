"""Access-key and session-token formats, the master key, and sealing of secrets."""
