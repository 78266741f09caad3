"""Drift both ways between the topology, the committed tfvars and the Terraform code.

Every topic, subscription, function, Firestore trigger and scheduler job of the
topology must have its tfvars entry and the Terraform resource built from it;
every tfvars entry and every resource must come from the topology (or be one of
the kit's implicit pieces: the fault recorder and the lake).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fakes import main as sandbox
from shared.deploy import archive
from shared.deploy.command import ROOT
from shared.deploy.tfvars import FAULT_RECORDER, TFVARS_NAME
from shared.topology.model import Consumer, Schedule, ServiceKind, Subsystem, Topic, Trigger

from .conftest import TERRAFORM

ENVIRONMENTS = ("dev", "prod")
FN = "module.system.module.subsystem[{s}].module.function[{f}]"


def committed(env: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (TERRAFORM / "environments" / env / TFVARS_NAME).read_text()
    )
    return document["subsystems"]


def cron_period_s(cron: str) -> int:
    """The period of the cron forms the generator uses, read independently of it."""
    minute, hour, *rest = cron.split()
    assert rest == ["*", "*", "*"], cron
    if hour == "*":
        if minute == "*":
            return 60
        if minute.startswith("*/"):
            return int(minute.removeprefix("*/")) * 60
        return 3600  # at a fixed minute of every hour
    assert minute == "0", cron
    return 3600 if hour == "*" else 86_400 if hour == "0" else int(hour.removeprefix("*/")) * 3600


def expected_functions(topo: Subsystem) -> dict[str, dict[str, Any]]:
    """What the tfvars must say about each function, read straight from the topology."""
    out: dict[str, dict[str, Any]] = {}
    for service, fn in topo.functions():
        entry: dict[str, Any] = {"target": fn.target(service)}
        if isinstance(fn, Consumer):
            ch = fn.channel
            entry["subscription"] = {
                "id": fn.subscription(service),
                "topic": ch.topic.value,
                "producer": ch.subsystem,
                "filter": ch.rule.to_filter(),
                "ordered": ch.ordered,
                "max_delivery_attempts": ch.max_delivery_attempts,
                "ack_deadline_s": ch.ack_deadline_s,
                "min_backoff_s": ch.min_backoff_s,
                "max_backoff_s": ch.max_backoff_s,
            }
        if isinstance(fn, Trigger):
            entry["collection"] = fn.collection
        if isinstance(fn, Schedule):
            entry["every_s"] = fn.every_s
        out[fn.target(service).replace("_", "-")] = entry
    return out


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_topology_piece_has_its_tfvars_entry_and_back(env, topologies):
    tfvars = committed(env)
    assert set(tfvars) == set(topologies)
    for name, topo in topologies.items():
        sub = tfvars[name]
        assert sorted(sub["topics"]) == sorted(t.value for t in Topic)
        expected = expected_functions(topo)
        functions = sub["functions"]
        assert set(functions) == set(expected) | {FAULT_RECORDER}, name
        for fn_name, want in expected.items():
            got = functions[fn_name]
            assert got["target"] == want["target"]
            if "subscription" in want:
                assert got["kind"] == "push"
                assert got["subscription"] == want["subscription"], fn_name
            else:
                assert got["subscription"] is None, f"{fn_name} has a subscription"
            assert got["collection"] == want.get("collection"), fn_name
            if "every_s" in want:
                assert cron_period_s(got["schedule"]["cron"]) == want["every_s"], fn_name
            else:
                assert got["schedule"] is None, f"{fn_name} has a scheduler job"
        recorder = functions[FAULT_RECORDER]["subscription"]
        assert recorder["topic"] == Topic.FAULTS.value and recorder["producer"] is None
        assert recorder["max_delivery_attempts"] is None  # faults never dead-letter to faults


def planned_addresses(tfvars: dict[str, Any]) -> set[str]:
    """The resources Terraform plans from the tfvars, expanding as the modules do.

    Mirrors the modules' for_each/count rules, which
    :func:`test_modules_expand_from_the_tfvars` pins to the HCL.
    """
    planned: set[str] = set()
    for s, sub in tfvars.items():
        for topic in sub["topics"]:
            planned.add(
                f'module.system.module.subsystem["{s}"].google_pubsub_topic.this["{topic}"]'
            )
        for f, fn in sub["functions"].items():
            base = FN.format(s=f'"{s}"', f=f'"{f}"')
            planned.add(f"{base}.google_cloudfunctions2_function.this")
            subscription = fn["subscription"]
            if subscription is not None and subscription["producer"] is None:
                planned.add(f"{base}.google_pubsub_subscription.push[0]")
            elif subscription is not None:
                planned.add(
                    f'module.system.module.bridge["{s}/{f}"].google_pubsub_subscription.ingress'
                )
            if fn["kind"] == "trigger":
                planned.add(f"{base}.event_trigger[{fn['collection']}]")
            if fn["kind"] == "schedule":
                planned.add(f"{base}.google_cloud_scheduler_job.tick[0]")
    return planned


def topology_addresses(topologies: dict[str, Subsystem]) -> set[str]:
    """The same addresses, derived from the topology alone."""
    expected: set[str] = set()
    for s, topo in topologies.items():
        for topic in Topic:
            expected.add(
                f'module.system.module.subsystem["{s}"].google_pubsub_topic.this["{topic.value}"]'
            )
        for svc, fn in topo.functions():
            f = fn.target(svc).replace("_", "-")
            base = FN.format(s=f'"{s}"', f=f'"{f}"')
            expected.add(f"{base}.google_cloudfunctions2_function.this")
            if isinstance(fn, Consumer) and fn.channel.subsystem is None:
                expected.add(f"{base}.google_pubsub_subscription.push[0]")
            elif isinstance(fn, Consumer):
                expected.add(
                    f'module.system.module.bridge["{s}/{f}"].google_pubsub_subscription.ingress'
                )
            if isinstance(fn, Trigger):
                expected.add(f"{base}.event_trigger[{fn.collection}]")
            if isinstance(fn, Schedule):
                expected.add(f"{base}.google_cloud_scheduler_job.tick[0]")
        recorder = FN.format(s=f'"{s}"', f=f'"{FAULT_RECORDER}"')
        expected |= {
            f"{recorder}.google_cloudfunctions2_function.this",
            f"{recorder}.google_pubsub_subscription.push[0]",
        }
    return expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_planned_resources_match_the_topology(env, topologies):
    planned, expected = planned_addresses(committed(env)), topology_addresses(topologies)
    assert sorted(planned - expected) == [], "resources with no topology entry"
    assert sorted(expected - planned) == [], "topology entries with no resource"


def test_modules_expand_from_the_tfvars(modules):
    """The for_each/count rules :func:`planned_addresses` mirrors are the HCL's."""
    for env in ENVIRONMENTS:
        system = modules[f"environments/{env}"]["module"]["system"]
        assert system["subsystems"] == "${var.subsystems}"
        assert system["source"] == "../../modules/system"
    composed = modules["modules/system"]["module"]
    assert composed["subsystem"]["for_each"] == "${var.subsystems}"
    assert composed["subsystem"]["functions"] == "${each.value.functions}"
    assert composed["subsystem"]["topics"] == "${each.value.topics}"
    assert composed["bridge"]["for_each"] == "${local.ingresses}"
    subsystem = modules["modules/subsystem"]
    assert subsystem["resource"]["google_pubsub_topic.this"]["for_each"] == "${toset(var.topics)}"
    function_call = subsystem["module"]["function"]
    assert function_call["for_each"] == "${var.functions}"
    assert "each.value.subscription.producer, null) == null" in function_call["push_subscription"]
    assert function_call["firestore_trigger"].startswith('${each.value.kind == "trigger"')
    assert function_call["schedule"].startswith('${each.value.kind == "schedule"')
    function = modules["modules/function"]["resource"]
    assert function["google_cloudfunctions2_function.this"]["build_config"][0]["entry_point"] == (
        "${var.target}"
    )
    assert "var.push_subscription == null" in function["google_pubsub_subscription.push"]["count"]
    assert "var.schedule == null" in function["google_cloud_scheduler_job.tick"]["count"]
    trigger = function["google_cloudfunctions2_function.this"]["dynamic"][-1]["event_trigger"]
    assert "var.firestore_trigger == null" in trigger["for_each"]
    assert "google_pubsub_subscription.ingress" in modules["modules/bridge"]["resource"]


def test_each_function_gets_only_the_secrets_it_declares(modules, generated, topologies):
    """Least privilege: a function's secrets come from its topology entry, not its subsystem's.

    The development signing key (``local-test`` auth) goes to the BFF APIs only.

    Every secret a subsystem's functions declare is one its environments create,
    and every secret an environment creates is declared by some function.
    """
    subsystem = modules["modules/subsystem"]
    assert subsystem["module"]["function"]["secret_environment"] == "${local.secret_env[each.key]}"
    assert "fn.secrets" in subsystem["locals"]["secret_env"]
    guard = subsystem["resource"]["terraform_data.declared_secrets"]
    [precondition] = guard["lifecycle"][0]["precondition"]
    assert "setsubtract(local.declared_secrets, var.secret_settings)" in precondition["condition"]
    declared = {
        name: {s for fn in sub["functions"].values() for s in fn["secrets"]}
        for name, sub in generated["subsystems"].items()
    }
    assert {name: secrets for name, secrets in declared.items() if secrets} == {
        "customer": {"PAYMENT_PROCESSOR_KEY"},
        "order": {"POS_API_KEY", "POS_WEBHOOK_SECRET"},
        "delivery": {"PUSH_PROVIDER_KEY"},
    }
    for env in ENVIRONMENTS:
        created = modules[f"environments/{env}"]["variable"]["secret_settings"]["default"]
        assert {name: set(created.get(name, [])) for name in declared} == declared, env
    holders = {
        (sub.name, service.name, fn.name)
        for sub in topologies.values()
        for service, fn in sub.functions()
        if fn.secrets
    }
    assert holders == {
        ("customer", "payment-esg", "processor"),
        ("order", "pos-esg", "to-pos"),
        ("order", "pos-esg", "webhook"),
        ("delivery", "notification-esg", "push"),
    }
    assert subsystem["module"]["function"]["secret_files"].startswith(
        "${each.value.verifies_tokens ? local.secret_files : {}"
    )
    verifying = {
        (name, fn_name)
        for name, sub in generated["subsystems"].items()
        for fn_name, fn in sub["functions"].items()
        if fn["verifies_tokens"]
    }
    assert verifying == {
        (sub.name, f"{service.name}-{fn.name}")
        for sub in topologies.values()
        for service, fn in sub.endpoints()
        if service.kind is ServiceKind.BFF
    }
    assert ("order", "pos-esg-webhook") not in verifying and len(verifying) == 7


INVENTORY = {
    "modules/bridge": {
        "google_pubsub_subscription.ingress",
        "google_pubsub_subscription_iam_member.dead_letter",
        "google_pubsub_topic_iam_member.attach",
    },
    "modules/function": {
        "google_service_account.function",
        "google_project_iam_member.firestore",
        "google_pubsub_topic_iam_member.publish",
        "google_secret_manager_secret_iam_member.access",
        "google_cloudfunctions2_function.this",
        "google_cloud_run_v2_service_iam_member.public",
        "google_cloud_run_v2_service_iam_member.invoker",
        "google_pubsub_subscription.push",
        "google_pubsub_subscription_iam_member.dead_letter",
        "google_cloud_scheduler_job.tick",
    },
    "modules/subsystem": {
        "google_project.this",
        "terraform_data.declared_secrets",
        "google_project_service.api",
        "google_project_iam_audit_config.all",
        "google_service_account.invoker",
        "google_service_account.builder",
        "google_service_account_iam_member.push_token_creator",
        "google_project_iam_member.eventarc_receiver",
        "google_project_iam_member.builder",
        "google_pubsub_topic.this",
        "google_pubsub_schema.envelope",
        "google_pubsub_topic_iam_member.dead_letter",
        "google_storage_bucket.lake",
        "google_storage_bucket_iam_member.lake_writer",
        "google_pubsub_subscription.lake",
        "google_firestore_database.this",
        "google_firestore_index.this",
        "google_firestore_field.ttl",
        "google_secret_manager_secret.setting",
        "google_storage_bucket.artifacts",
        "google_storage_bucket_iam_member.builder",
        "google_storage_bucket_object.source",
    },
    "modules/sandbox": {
        "google_project.this",
        "google_project_service.api",
        "google_project_iam_audit_config.all",
        "google_service_account.builder",
        "google_project_iam_member.builder",
        "google_storage_bucket.artifacts",
        "google_storage_bucket_iam_member.builder",
        "google_storage_bucket_object.source",
        "google_service_account.fake",
        "google_secret_manager_secret_iam_member.fake",
        "google_cloudfunctions2_function.fake",
        "google_cloud_run_v2_service_iam_member.public",
        "google_cloud_run_v2_service_iam_member.pos_invoker",
    },
    "modules/system": set(),
    "environments/dev": set(),
    "environments/prod": set(),
}
"""Every resource block, by module: a hand-written resource for one function fails here."""


def test_no_resource_outside_the_known_inventory(modules):
    assert {path: set(m["resource"]) for path, m in modules.items()} == INVENTORY


THIRD_PARTIES = {
    # target of fakes/main.py: (subsystem, URL setting, secret settings it reads)
    "payment_processor": ("customer", "PAYMENT_PROCESSOR_URL", ("PAYMENT_PROCESSOR_KEY",)),
    "point_of_sale": ("order", "POS_URL", ("POS_API_KEY", "POS_WEBHOOK_SECRET")),
    "push_provider": ("delivery", "PUSH_PROVIDER_URL", ("PUSH_PROVIDER_KEY",)),
}


def test_the_sandbox_deploys_every_fake_once_from_the_fakes_archive(modules):
    """One function per target of fakes/main.py, one instance each (state in memory)."""
    sandbox_module = modules["modules/sandbox"]
    fakes = sandbox_module["locals"]["fakes"]
    assert {f["target"] for f in fakes.values()} == set(sandbox.TARGETS) == set(THIRD_PARTIES)
    assert archive.fakes_targets(ROOT) == tuple(sorted(THIRD_PARTIES))
    function = sandbox_module["resource"]["google_cloudfunctions2_function.fake"]
    assert function["for_each"] == "${local.fakes}"
    assert function["build_config"][0]["entry_point"] == "${each.value.target}"
    service = function["service_config"][0]
    assert service["max_instance_count"] == 1
    assert service["min_instance_count"] == 0
    source = (ROOT / "fakes" / "main.py").read_text()
    for fake in fakes.values():
        _, _, secrets = THIRD_PARTIES[fake["target"]]
        assert set(fake["secrets"]) == set(secrets)  # only its own keys, from Secret Manager
        for secret in secrets:
            assert f'setting("{secret}")' in source  # the variable the target reads
    object_name = sandbox_module["resource"]["google_storage_bucket_object.source"]["name"]
    assert object_name == f"sources/{archive.FAKES}-${{filesha256(var.source_archive_path)}}.zip"


def test_the_sandbox_is_dev_only_and_feeds_the_third_party_urls(modules):
    dev, prod = modules["environments/dev"], modules["environments/prod"]
    call = dev["module"]["sandbox"]
    assert call["source"] == "../../modules/sandbox"
    assert call["source_archive_path"] == f"${{var.archive_dir}}/{archive.FAKES}.zip"
    assert "sandbox" not in prod["module"]
    assert not [
        p.name
        for p in (TERRAFORM / "environments" / "prod").glob("*.tf")
        if "sandbox" in p.read_text()
    ]
    assert dev["module"]["system"]["settings"] == "${local.settings}"
    wired = dev["locals"]["sandbox_settings"]
    fakes = modules["modules/sandbox"]["locals"]["fakes"]
    assert {fake["target"] for fake in fakes.values()} == set(THIRD_PARTIES)
    # The URLs are the fakes' cloudfunctions.net ones, computed (module.sandbox's outputs would
    # close a dependency loop), and a check holds them to what was deployed.
    listed = re.search(r"for fake in \[([^\]]*)\]", dev["locals"]["sandbox_urls"])
    assert listed is not None and set(re.findall(r'"([a-z-]+)"', listed[1])) == set(fakes)
    assert "module.sandbox.function_urls" in json.dumps(dev["check"])
    for target, (subsystem, url, secrets) in THIRD_PARTIES.items():
        [fake] = [name for name, f in fakes.items() if f["target"] == target]
        assert wired[subsystem][url] == f'${{local.sandbox_urls["{fake}"]}}'
        assert set(wired[subsystem]) - {url} <= {"POS_AUDIENCE"}
        for secret in secrets:
            read = call["secrets"][secret.lower()]
            assert read == {
                "project": f'${{module.system.projects["{subsystem}"]}}',
                "secret": f'${{module.system.secret_ids["{subsystem}"]["{secret}"]}}',
            }
            assert secret in dev["variable"]["secret_settings"]["default"][subsystem]
    example = (TERRAFORM / "environments/dev/terraform.tfvars.example").read_text()
    assert not re.search(r"^settings\s*=", example, re.MULTILINE)  # no third-party URLs to fill
    assert re.search(r"^sandbox_project_id\s*=", example, re.MULTILINE)


def test_the_sandbox_point_of_sale_is_private_to_the_pos_gateway(modules, generated):
    """Only the fakes with API keys are public; the POS lets in the POS gateway's identity.

    The gateway sends a Google ID token for the POS URL (``POS_AUDIENCE``), and
    the identity granted is that of the functions that call it.
    """
    sandbox_module, dev = modules["modules/sandbox"], modules["environments/dev"]
    fakes = sandbox_module["locals"]["fakes"]
    assert {name for name, fake in fakes.items() if not fake["public"]} == {"point-of-sale"}
    resources = sandbox_module["resource"]
    public = resources["google_cloud_run_v2_service_iam_member.public"]
    assert "if fake.public" in public["for_each"] and public["member"] == "allUsers"
    invoker = resources["google_cloud_run_v2_service_iam_member.pos_invoker"]
    assert invoker["for_each"] == "${var.pos_invokers}"
    assert invoker["name"] == '${google_cloudfunctions2_function.fake["point-of-sale"].name}'
    assert invoker["member"] == "${each.value}"

    order = dev["locals"]["sandbox_settings"]["order"]
    assert order["POS_AUDIENCE"] == order["POS_URL"]
    callers = dev["variable"]["sandbox_pos_callers"]["default"]
    assert callers == {"order": ["pos-esg-to-pos"]}
    to_pos = generated["subsystems"]["order"]["functions"]["pos-esg-to-pos"]
    assert to_pos["target"] == "pos_esg_to_pos"
    wired = dev["module"]["sandbox"]["pos_invokers"]
    assert "var.sandbox_pos_callers" in wired and "module.system.service_accounts" in wired


def test_no_topology_name_is_hard_coded_in_terraform(generated):
    """Names of functions and subscriptions come from the tfvars, never from the HCL.

    The one exception, a setting holding a function's own URL (``url_settings``),
    must name a function that exists.
    """
    names = {f for sub in generated["subsystems"].values() for f in sub["functions"]}
    literals = {
        (path.relative_to(TERRAFORM).as_posix(), literal)
        for path in TERRAFORM.rglob("*.tf")
        for literal in re.findall(r'"([a-z][a-z0-9-]*)"', path.read_text())
        if literal in names
    }
    allowed = {(f"environments/{env}/variables.tf", "pos-esg-webhook") for env in ENVIRONMENTS}
    allowed.add(("environments/dev/variables.tf", "pos-esg-to-pos"))  # sandbox_pos_callers
    assert literals <= allowed
    order_functions = set(generated["subsystems"]["order"]["functions"])
    assert {"pos-esg-webhook", "pos-esg-to-pos"} <= order_functions


def test_every_checkov_skip_is_justified():
    skips = [
        (path.name, line.strip())
        for path in TERRAFORM.rglob("*.tf")
        for line in path.read_text().splitlines()
        if "checkov:skip" in line
    ]
    assert skips, "the scan's known exceptions are documented where they apply"
    for where, line in skips:
        assert re.fullmatch(r"#checkov:skip=CKV2?_GCP_\d+:.{20,}", line), (where, line)


def _call_at(text: str, start: int) -> str:
    """The type expression starting at ``start`` up to its balanced closing parenthesis."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if text[end] == ")" and depth == 0:
            return text[start : end + 1]
    raise AssertionError(f"unbalanced type: {text[start:]}")


def _attributes(object_type: str) -> list[str]:
    """The top-level attribute names of ``map(object({a = ..., b = ...}))``."""
    body = object_type[len("map(object({") : -len("}))")]
    names, depth, item = [], 0, ""
    for char in body + ",":
        depth += {"(": 1, "{": 1, ")": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            names.append(item.split("=")[0].strip())
            item = ""
        else:
            item += char
    return names


def test_the_generated_types_are_declared_alike_wherever_terraform_needs_them(modules, generated):
    """Terraform has no type aliases: the tfvars' shape is written out in four places.

    They must agree with each other, and a function's attributes with what the
    generator writes for every function.
    """
    roots = [f"environments/{env}" for env in ENVIRONMENTS] + ["modules/system"]
    declared = {modules[root]["variable"]["subsystems"]["type"] for root in roots}
    assert len(declared) == 1, declared
    [subsystems] = declared
    functions = _call_at(subsystems, subsystems.index("map(object({target"))
    assert modules["modules/subsystem"]["variable"]["functions"]["type"] == f"${{{functions}}}"
    for sub in generated["subsystems"].values():
        for name, fn in sub["functions"].items():
            assert sorted(fn) == sorted(_attributes(functions)), name


def test_every_external_topic_checks_the_envelope_schema_as_the_dev_stack_does(modules, generated):
    from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID, envelope_avro_schema

    schema = generated["envelope_schema"]
    assert schema["id"] == ENVELOPE_SCHEMA_ID
    assert json.loads(schema["definition"]) == envelope_avro_schema()
    subsystem = modules["modules/subsystem"]
    resource = subsystem["resource"]["google_pubsub_schema.envelope"]
    assert (resource["type"], resource["definition"]) == (
        "AVRO",
        "${var.envelope_schema.definition}",
    )
    topic = json.dumps(subsystem["resource"]["google_pubsub_topic.this"])
    assert "schema_settings" in topic and 'value == \\"external\\"' in topic and "JSON" in topic
    for root in ("environments/dev", "environments/prod"):
        assert modules[root]["module"]["system"]["envelope_schema"] == "${var.envelope_schema}"
