"""The first ``terraform plan`` of a fresh environment can count every function's and bridge's
resources.

Nothing exists yet then: every id, email and name that ``modules/subsystem`` takes from a
resource it creates (topics, service accounts, the project number behind the Pub/Sub service
agent) and hands to ``modules/function``, or ``modules/system`` to ``modules/bridge``, is
unknown until apply. Terraform refuses a ``count`` or ``for_each`` that depends on such a
value, even only to compare it with ``null`` ("Invalid count argument",
hashicorp/terraform#26755), and the whole plan stops.

Checked without the provider: the two modules' ``count`` and ``for_each`` expressions,
copied onto ``terraform_data`` probes beside their own ``variables.tf``, are planned for every
generated function and ingress, given their inputs as they are passed: what comes from
the tfvars known, what comes from a resource unknown (a ``terraform_data`` output, which like
the Google provider's computed attributes is not even known not to be null).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .conftest import TERRAFORM, terraform_binary
from .test_first_apply import ANSI

UNKNOWN = "local.unknown"
"""HCL for a value only the apply knows."""
META = ("count", "for_each")
LOCAL = re.compile(r"\blocal\.(\w+)")


def hcl(value: Any) -> str:
    """``value`` as an HCL expression; strings are literals unless they are ``UNKNOWN``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value == UNKNOWN else json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {hcl(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(hcl(v) for v in value) + "]"
    raise TypeError(f"no HCL for {value!r}")


def inputs(name: str, fn: Mapping[str, Any]) -> dict[str, Any]:
    """The function module's inputs for one generated function, as modules/subsystem passes
    them on a fresh environment (resource attributes unknown)."""
    channel = fn["subscription"]
    own_channel = channel is not None and channel["producer"] is None
    dead_letters = own_channel and channel["max_delivery_attempts"] is not None
    invoker = {"http": None, "push": "push", "trigger": "eventarc", "schedule": "scheduler"}
    return {
        "project_id": UNKNOWN,
        "region": "europe-west1",
        "name": name,
        "target": fn["target"],
        "source_archive": {"bucket": UNKNOWN, "object": UNKNOWN},
        "build_service_account": UNKNOWN,
        "public": fn["public"],
        "invokers": {} if invoker[fn["kind"]] is None else {invoker[fn["kind"]]: UNKNOWN},
        "publish_topics": {topic: UNKNOWN for topic in fn["publishes_to"]},
        # Secret ids are configured, not computed: known at plan time.
        "secret_environment": {
            f"FOODDELIVERY_{s}": s.lower().replace("_", "-") for s in fn["secrets"]
        },
        "secret_files": (
            {"dev-signing-key": {"mount_path": "/secrets/dev-signing-key", "file": "key.pem"}}
            if fn["verifies_tokens"]
            else {}
        ),
        "push_subscription": (
            {
                **{k: v for k, v in channel.items() if k not in ("topic", "producer")},
                "topic_id": UNKNOWN,
                "dead_letter_topic_id": UNKNOWN if dead_letters else None,
                "push_service_account": UNKNOWN,
                "pubsub_service_agent": UNKNOWN,
            }
            if own_channel
            else None
        ),
        "firestore_trigger": (
            {
                "collection": fn["collection"],
                "database": "(default)",
                "location": "europe-west1",
                "service_account": UNKNOWN,
            }
            if fn["kind"] == "trigger"
            else None
        ),
        "schedule": (
            {"cron": fn["schedule"]["cron"], "service_account": UNKNOWN}
            if fn["kind"] == "schedule"
            else None
        ),
    }


def bridge_inputs(fn: Mapping[str, Any]) -> dict[str, Any]:
    """The bridge module's inputs for one ingress, as modules/system passes them on a fresh
    environment: the subsystems' outputs unknown, the channel and attach_members known."""
    channel = fn["subscription"]
    return {
        "consumer_project_id": UNKNOWN,
        "subscription": {k: v for k, v in channel.items() if k not in ("topic", "producer")},
        "producer_topic_id": UNKNOWN,
        "push_endpoint": UNKNOWN,
        "push_service_account": UNKNOWN,
        "dead_letter_topic_id": UNKNOWN,
        "pubsub_service_agent": UNKNOWN,
        "attach_members": ["serviceAccount:deployer@example.iam.gserviceaccount.com"],
        "labels": {"system": "fooddelivery"},
    }


def probes(module: Mapping[str, Mapping[str, Any]]) -> str:
    """The module's ``count``/``for_each`` expressions on ``terraform_data`` probes, with the
    locals they need (those computed from the module's variables alone)."""
    lines: list[str] = []
    needed: set[str] = set()
    for address, body in module["resource"].items():
        for meta in META:
            if meta not in body:
                continue
            expression = unwrap(body[meta])
            needed |= set(LOCAL.findall(expression))
            probe = address.removeprefix("google_").replace(".", "__")
            lines += [f'resource "terraform_data" "{probe}" {{', f"  {meta} = {expression}", "}"]
    todo = list(needed)
    while todo:
        for name in LOCAL.findall(module["locals"][todo.pop()]):
            if name not in needed:
                needed.add(name)
                todo.append(name)
    defined = [f"  {name} = {unwrap(module['locals'][name])}" for name in sorted(needed)]
    text = "\n".join(["locals {", *defined, "}", *lines]) + "\n"
    assert "google_" not in text, f"a count or for_each waits for a resource:\n{text}"
    return text


def unwrap(expression: str) -> str:
    """An expression without the ``${...}`` python-hcl2 wraps it in."""
    if expression.startswith("${") and expression.endswith("}"):
        return expression[2:-1]
    return expression


def plan(root: Path) -> subprocess.CompletedProcess[str]:
    """``terraform init`` and ``plan`` of ``root``, which uses only the built-in provider."""
    terraform = terraform_binary()
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    for args in (["init", "-input=false", "-no-color"], ["plan", "-input=false", "-no-color"]):
        done = subprocess.run(
            [terraform, *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode != 0:
            return done
    return done


def probed_module(modules: Mapping[str, Any], name: str, scratch: Path) -> None:
    """``modules/<name>``'s variables and the probes of its counts, under ``scratch/<name>``."""
    module_dir = scratch / name
    module_dir.mkdir()
    shutil.copy(TERRAFORM / "modules" / name / "variables.tf", module_dir)
    (module_dir / "probes.tf").write_text(probes(modules[f"modules/{name}"]))


def call(name: str, source: str, arguments: Mapping[str, Any]) -> str:
    """A module block calling ``./source`` with ``arguments``."""
    body = "".join(f"  {k} = {hcl(v)}\n" for k, v in arguments.items())
    return f'module "{name}" {{\n  source = "./{source}"\n{body}}}\n'


def test_the_first_plan_counts_every_functions_resources(modules, generated, tmp_path):
    probed_module(modules, "function", tmp_path)
    probed_module(modules, "bridge", tmp_path)
    calls = [
        'resource "terraform_data" "unknown" {\n  input = "known only after apply"\n}\n',
        "locals {\n  unknown = terraform_data.unknown.output\n}\n",
    ]
    for subsystem, sub in generated["subsystems"].items():
        for name, fn in sub["functions"].items():
            calls.append(call(f"{subsystem}--{name}", "function", inputs(name, fn)))
            if fn["subscription"] is not None and fn["subscription"]["producer"] is not None:
                calls.append(call(f"bridge--{subsystem}--{name}", "bridge", bridge_inputs(fn)))
    (tmp_path / "main.tf").write_text("\n".join(calls))

    done = plan(tmp_path)
    assert done.returncode == 0, ANSI.sub("", done.stderr)


def test_dead_letters_need_both_the_attempts_and_the_topic(modules, generated, tmp_path):
    """The count above reads ``max_delivery_attempts``, the policy ``dead_letter_topic_id``:
    the module refuses one without the other rather than half dead-letter."""
    probed_module(modules, "function", tmp_path)
    fn = generated["subsystems"]["customer"]["functions"]["browse-bff-listener"]
    arguments = inputs("browse-bff-listener", fn)
    arguments["push_subscription"]["dead_letter_topic_id"] = None
    (tmp_path / "main.tf").write_text(call("half", "function", arguments).replace(UNKNOWN, '"x"'))

    done = plan(tmp_path)
    assert done.returncode != 0
    said = " ".join(ANSI.sub("", done.stderr).split())  # Terraform wraps its messages
    assert "both max_delivery_attempts and dead_letter_topic_id, or with neither" in said
