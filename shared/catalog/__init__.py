"""The contracts catalog: everything generated from the loaded subsystems.

From the topology declarations and the published :class:`~shared.contracts.Contract`
classes the kit generates, never by hand:

* ``contracts/schemas/<type>.v<major>.json``: each payload's JSON Schema (:mod:`.schemas`);
* ``contracts/asyncapi.yaml``: the AsyncAPI 3.1 document (:mod:`.asyncapi`), with the
  envelope and Pub/Sub attribute schemas derived from the wire code (:mod:`.envelope`);
* ``contracts/README.md``: the human catalog (:mod:`.markdown`);
* ``contracts/topology.mmd``: the Mermaid topology diagram (:mod:`.mermaid`).

Descriptions are the contracts' docstrings as prose (:mod:`shared.prose`).
``fooddelivery contracts export`` writes them; ``fooddelivery contracts check``
(:mod:`.gate`) refuses breaking changes and stale files.
"""
