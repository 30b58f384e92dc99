"""Where rooms live: ``memory`` (default) or ``redis`` (rooms across servers)."""
