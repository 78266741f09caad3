"""The Restaurant subsystem."""
