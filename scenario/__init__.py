"""The demo scenario: the three actors driving the BFF HTTP APIs, embedded or against a running stack."""
