"""The kit's own sample: two subsystems that exercise every kind of function.

It is the smallest example of the template's functions, and what ``fooddelivery
demo`` runs when no project demo is registered.

``alpha`` takes checkouts over HTTP (BFF API -> store -> trigger -> bus), sends
them out as an external event (egress), and materializes shipments that come
back from ``beta`` (ingress -> listener -> view). ``beta`` receives the order
(ingress), collects it in a micro event store (control listener) and ships it
(control trigger), which its egress publishes back.

It shows the kit's mechanics, not everything a registered subsystem needs: it
declares no contracts (its egress functions emit external events directly and
its ingresses select no ``schemaVersion``) and its API is plain Flask without
tokens, so :func:`shared.system.checked` refuses it. A domain subsystem publishes
contracts (:class:`~shared.contracts.Contract`) with :func:`~shared.contracts.publish`,
reads with a :class:`~shared.contracts.Reader`, and serves a BFF through
:class:`~shared.api.HttpApi` (README, "Writing a subsystem with the kit").
"""
