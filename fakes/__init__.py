"""Local stand-ins for the third parties: payment processor, point of sale, push provider.

Each fake is a Flask app with in-memory state, built by its package's
``create_app`` and served over real HTTP on loopback, so the gateways' own HTTP
code runs against it (or in process through :class:`shared.http.WsgiTransport`):

* :mod:`fakes.payment_processor` (``python -m fakes.payment_processor``, port 8701)
* :mod:`fakes.point_of_sale` (``python -m fakes.point_of_sale``, port 8702)
* :mod:`fakes.push_provider` (``python -m fakes.push_provider``, port 8703)

What they share: :mod:`fakes.server` (serving), :mod:`fakes.idempotency`
(replays by ``Idempotency-Key``), :mod:`fakes.faults` (``POST /_fake/fail-next``),
:mod:`fakes.retention` (how long and how much they remember) and :mod:`fakes.web` (JSON
errors, body size limit, validation, API keys).
"""
