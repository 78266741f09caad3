"""A push consumer's function runs as long as its channel's ack deadline allows, no more, no less.

Pub/Sub waits for a push endpoint's answer until the subscription's ack deadline
(``Channel.ack_deadline_s``, 10-600 s), then counts the attempt as failed and redelivers.
A function timeout shorter than that kills work the channel allows (every attempt fails
alike, until the message is dead-lettered); a longer one lets a redelivery run beside the
first attempt. Checked without the provider: the module call's ``timeout_s`` evaluated by
``terraform console`` for every generated function, and a channel with a longer deadline.
"""

from __future__ import annotations

import copy
from typing import Any

from .test_first_apply import console

DEFAULT_TIMEOUT_S = 60
"""The timeout of functions no channel feeds (APIs, triggers, schedules)."""


def timeouts(
    modules: dict[str, Any], subsystems: dict[str, Any], scratch: Any
) -> dict[str, dict[str, int]]:
    """Each function's ``timeout_s`` as modules/subsystem passes it to modules/function, by
    subsystem (``subsystems`` shaped as the tfvars' ``subsystems``)."""
    call = modules["modules/subsystem"]["module"]["function"]
    assert "timeout_s" in call, "modules/subsystem leaves every function the default timeout"
    passed = call["timeout_s"]
    assert passed.startswith("${") and passed.endswith("}"), passed
    per_function = passed[2:-1].replace("each.value", "fn")
    by_function = f"{{ for name, fn in sub.functions : name => {per_function} }}"
    every = f"{{ for s, sub in var.subsystems : s => {by_function} }}"
    return dict(console(every, {"subsystems": subsystems}, scratch))


def test_the_function_module_applies_the_timeout(modules):
    function = modules["modules/function"]["resource"]["google_cloudfunctions2_function.this"]
    assert function["service_config"][0]["timeout_seconds"] == "${var.timeout_s}"


def test_every_consumer_times_out_at_its_channels_ack_deadline(modules, generated, tmp_path):
    got = timeouts(modules, generated["subsystems"], tmp_path)
    for name, sub in generated["subsystems"].items():
        for fn_name, fn in sub["functions"].items():
            channel = fn["subscription"]
            want = DEFAULT_TIMEOUT_S if channel is None else channel["ack_deadline_s"]
            assert got[name][fn_name] == want, (name, fn_name)


def test_a_longer_ack_deadline_gives_a_longer_timeout(modules, generated, tmp_path):
    """Every channel today keeps the default 60 s: a slow one must not be cut short."""
    functions = copy.deepcopy(generated["subsystems"]["customer"]["functions"])
    slow = functions["payment-esg-processor"]
    slow["subscription"]["ack_deadline_s"] = 300
    ingress = functions["order-esg-ingress"]  # fed by a bridge from another project
    ingress["subscription"]["ack_deadline_s"] = 20
    got = timeouts(modules, {"customer": {"functions": functions}}, tmp_path)["customer"]
    assert (got["payment-esg-processor"], got["order-esg-ingress"]) == (300, 20)
    assert got["checkout-bff-api"] == DEFAULT_TIMEOUT_S
