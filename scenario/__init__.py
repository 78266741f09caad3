"""The demo scenario: the three actors driving the BFF HTTP APIs.

The same story runs embedded (``fooddelivery demo``, the benchmark, the
end-to-end tests) and against a running stack.
"""
