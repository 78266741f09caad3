"""Deploying the system to Google Cloud: Terraform inputs, source archives, commands.

* :mod:`shared.deploy.tfvars` renders every subsystem's topology as the
  Terraform input ``topology.auto.tfvars.json`` of each environment;
* :mod:`shared.deploy.archive` builds a subsystem's function source archive,
  byte for byte the same on every run;
* :mod:`shared.deploy.tools` builds the ``terraform`` and ``gcloud`` command
  lines the commands run, and runs them;
* :mod:`shared.deploy.command` registers ``fooddelivery tfvars``, ``deploy`` and
  ``teardown`` (the domain's ``smoke`` lives in :mod:`scenario.smoke`);
* :mod:`shared.deploy.faults` is the one target every archive adds beside the
  topology's: the subsystem's fault recorder.

Nothing here runs inside a deployed function except :mod:`shared.deploy.faults`.
"""
