"""What a first ``terraform apply`` on a fresh organisation trips on, checked without the provider.

* every ``for_each`` over generated entries yields one instance per entry (a duplicate key
  stops the plan), evaluated by ``terraform console`` on the committed tfvars;
* nothing that calls a project's API is created before ``google_project_service.api``
  enables it, directly or through what it references;
* Cloud Build, running as the modules' own builder identity, can read the copy of the
  source archive Cloud Functions makes in its ``gcf-v2-sources-*`` bucket.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from .conftest import terraform_binary
from .test_drift import ENVIRONMENTS, committed

REFERENCE = re.compile(r"(?<![\w.])(local\.\w+|module\.\w+|terraform_data\.\w+|google_\w+\.\w+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
API = "google_project_service.api"
NEEDS_NO_PROJECT_API = {
    "google_project.this",  # Resource Manager, which the deployer's own project serves
    "google_project_iam_audit_config.all",  # likewise
    API,
    "terraform_data.declared_secrets",  # Terraform's own
}
"""Resources that may be created before the project's APIs are on."""


def console(expression: str, variables: Mapping[str, Any], scratch: Path) -> Any:
    """``expression`` evaluated by ``terraform console`` with ``variables`` (any type)."""
    terraform = terraform_binary()
    declared = "".join(f'variable "{name}" {{\n  type = any\n}}\n' for name in variables)
    (scratch / "main.tf").write_text(declared)
    (scratch / "inputs.tfvars.json").write_text(json.dumps(variables))
    done = subprocess.run(
        [terraform, "console", "-var-file=inputs.tfvars.json"],
        cwd=scratch,
        input=f"jsonencode({expression})\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"terraform console refused {expression}:\n{ANSI.sub('', done.stderr)}")
    return json.loads(json.loads(done.stdout.strip().splitlines()[-1]))


def for_each(resource: Mapping[str, Any]) -> str:
    """A resource's ``for_each`` expression, without its ``${...}`` interpolation."""
    expression: str = resource["for_each"]
    assert expression.startswith("${") and expression.endswith("}"), expression
    return expression[2:-1]


@pytest.mark.parametrize(
    ("resource", "variable", "generated"),
    [
        ("google_firestore_index.this", "firestore_indexes", "firestore_indexes"),
        ("google_firestore_field.ttl", "ttl_fields", "firestore_ttl_fields"),
    ],
)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_generated_firestore_entry_gets_an_instance_of_its_own(
    modules, tmp_path, env, resource, variable, generated
):
    expression = for_each(modules["modules/subsystem"]["resource"][resource])
    for name, sub in committed(env).items():
        entries = sub[generated]
        keys = console(f"keys({expression})", {variable: entries}, tmp_path)
        assert len(keys) == len(entries), (name, keys)


def references(body: Any) -> set[str]:
    """The locals, modules and resources an HCL body refers to (data sources excluded)."""
    return set(REFERENCE.findall(json.dumps(body)))


def dependencies(module: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Every resource, module call and local of a module => what it refers to directly."""
    nodes: dict[str, Any] = {
        **module["resource"],
        **{f"module.{name}": body for name, body in module["module"].items()},
        **{f"local.{name}": body for name, body in module["locals"].items() if name[:2] != "__"},
    }
    return {node: references(body) & set(nodes) for node, body in nodes.items()}


def waits_for(node: str, graph: Mapping[str, set[str]]) -> set[str]:
    """Everything ``node`` is created after, transitively."""
    seen: set[str] = set()
    todo = [node]
    while todo:
        for ref in graph[todo.pop()] - seen:
            seen.add(ref)
            todo.append(ref)
    return seen


@pytest.mark.parametrize("path", ["modules/subsystem", "modules/sandbox"])
def test_nothing_calls_a_project_api_before_it_is_enabled(modules, path):
    graph = dependencies(modules[path])
    early = sorted(
        node
        for node in graph
        if not node.startswith("local.")
        and node not in NEEDS_NO_PROJECT_API
        and API not in waits_for(node, graph)
    )
    assert early == [], f"{path}: created before the project's APIs are enabled"


@pytest.mark.parametrize("path", ["modules/subsystem", "modules/sandbox"])
def test_the_builder_reads_the_sources_cloud_functions_copies(modules, path):
    """Project-wide logs and images; objects only in the ``gcf-v2-sources-*`` buckets."""
    grants = modules[path]["resource"]["google_project_iam_member.builder"]
    assert grants["member"] == "${google_service_account.builder.member}"
    assert grants["role"] == "${each.key}"
    assert grants["for_each"] == {
        "roles/logging.logWriter": None,
        "roles/artifactregistry.writer": None,
        "roles/storage.objectViewer": "gcf-v2-sources-",
    }
    [dynamic] = grants["dynamic"]
    assert dynamic["condition"]["for_each"] == "${each.value == null ? [] : [each.value]}"
    [condition] = dynamic["condition"]["content"]
    assert condition["expression"].startswith("resource.name.startsWith(")
    assert "projects/_/buckets/${condition.value}" in condition["expression"]
