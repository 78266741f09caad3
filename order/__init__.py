"""The Order subsystem."""
