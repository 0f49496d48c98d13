"""One module per usage provider behind the Connector protocol."""
