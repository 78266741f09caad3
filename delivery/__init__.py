"""The Delivery subsystem."""
