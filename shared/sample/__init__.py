"""The kit's own sample: two subsystems that exercise every kind of function.

It is the smallest complete example of the template, and what ``fooddelivery
demo`` runs when no project demo is registered.

``alpha`` takes checkouts over HTTP (BFF API -> store -> trigger -> bus), sends
them out as an external contract (egress), and materializes shipments that come
back from ``beta`` (ingress -> listener -> view). ``beta`` receives the order
(ingress), collects it in a micro event store (control listener) and ships it
(control trigger), which its egress publishes back.
"""
