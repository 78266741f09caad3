"""Every target of every archive loads with functions-framework in a clean virtual env.

One venv per test run (in a temporary directory, nothing cached in the repo):
every archive pins the same requirements, so one ``pip install`` serves all,
the dev sandbox's ``fakes`` archive included.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile

import pytest

from shared.deploy import archive
from shared.deploy.command import build_archives
from shared.topology.model import Trigger

LOADER = """
import json, sys
from functions_framework import create_app
failures = {}
for target, signature in json.loads(sys.argv[1]).items():
    try:
        create_app(target, "main.py", signature)
    except Exception as error:  # report every target, not just the first
        failures[target] = repr(error)
print(json.dumps(failures))
"""


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory):
    """Archives unpacked, and a fresh venv with their requirements installed."""
    root = tmp_path_factory.mktemp("clean")
    archives = build_archives(root / "archives")
    for path in archives:
        with zipfile.ZipFile(path) as z:
            z.extractall(root / path.stem)
    requirements = {(root / p.stem / "requirements.txt").read_text() for p in archives}
    assert len(requirements) == 1, "every subsystem pins the same runtime dependencies"
    venv.create(root / "venv", with_pip=True)
    python = str(root / "venv" / "bin" / "python")
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(root / archives[0].stem / "requirements.txt"),
        ],
        check=True,
        timeout=240,
    )
    return root, python


def test_every_target_loads_in_a_clean_venv(clean_env, topologies):
    import json

    root, python = clean_env
    for name, topo in topologies.items():
        signatures = {
            fn.target(s): "cloudevent" if isinstance(fn, Trigger) else "http"
            for s, fn in topo.functions()
        }
        signatures["faults_recorder"] = "http"
        done = subprocess.run(
            [python, "-c", LOADER, json.dumps(signatures)],
            cwd=root / name,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "FOODDELIVERY_MODE": "gcp"},
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {}, name


SERVE_FAKE = """
import json, sys
from functions_framework import create_app
client = create_app(sys.argv[1], "main.py", "http").test_client()
answers = {path: client.get(path, headers={"Authorization": "Bearer k"}) for path in sys.argv[2:]}
print(json.dumps({path: [a.status_code, a.get_json()] for path, a in answers.items()}))
"""


def test_every_fake_loads_and_answers_in_a_clean_venv(clean_env):
    """Each sandbox target loads; built on its first request from its secret, it answers."""
    import json

    root, python = clean_env
    targets = archive.fakes_targets(root / archive.FAKES)
    assert targets == ("payment_processor", "point_of_sale", "push_provider")
    done = subprocess.run(
        [python, "-c", LOADER, json.dumps(dict.fromkeys(targets, "http"))],
        cwd=root / archive.FAKES,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no secrets: loading must not need them
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
    served = subprocess.run(
        [python, "-c", SERVE_FAKE, "payment_processor", "/healthz", "/v1/authorizations/x"],
        cwd=root / archive.FAKES,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PAYMENT_PROCESSOR_KEY": "k"},
    )
    assert served.returncode == 0, served.stderr
    answers = json.loads(served.stdout.strip().splitlines()[-1])
    assert answers["/healthz"] == [200, {"status": "ok"}]
    assert answers["/v1/authorizations/x"][0] == 404  # past the key check, into the fake


def test_the_clean_venv_cannot_see_the_repository(clean_env):
    root, python = clean_env
    done = subprocess.run(
        [python, "-c", "import shared"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "No module named 'shared'" in done.stderr
    assert sys.prefix not in python
