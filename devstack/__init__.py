"""``fooddelivery dev``: every function of every subsystem running locally on the Google emulators.

What runs, and where it lives:

* :mod:`devstack.command`: the ``fooddelivery dev`` command (options, READY banner, Ctrl-C);
* :mod:`devstack.stack`: starts the emulators, the third-party fakes and one host per
  subsystem, provisions Pub/Sub from the topologies, restarts a host that dies, stops it all
  (:mod:`devstack.launch`: the children's command lines and environment;
  :mod:`devstack.state_lock`: one stack per state dir; :mod:`devstack.health`: ``/healthz``);
* :mod:`devstack.host`: ``python -m devstack.host <subsystem> --port P``, the process that
  serves every function of one subsystem (:mod:`devstack.host_app`, :mod:`devstack.host_runtime`);
* :mod:`devstack.triggers`, :mod:`devstack.checkpoint`, :mod:`devstack.scheduler`,
  :mod:`devstack.lake`: what feeds the triggers, schedules and the event lake in a host;
* :mod:`devstack.live` and :mod:`devstack.scenario`: the demo story over HTTP against a
  running stack (``fooddelivery dev --scenario``).
"""
