"""The Customer subsystem."""
