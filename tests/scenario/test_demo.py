"""``fooddelivery demo``: the README's first command."""

from __future__ import annotations

import re
import sys

import pytest

from shared.cli import main


@pytest.fixture(autouse=True)
def dev_key(tmp_path, monkeypatch):
    monkeypatch.setenv("FOODDELIVERY_DEV_KEY", str(tmp_path / "dev-key.pem"))


def summary(out: str, line: str) -> str:
    match = re.search(rf"^  {line}:\s+(.*)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def test_orders_cross_all_four_subsystems_and_one_is_refused(capsys):
    assert main(["demo", "--orders", "6", "--seed", "3"]) == 0
    out = capsys.readouterr().out

    assert summary(out, "orders") == "6 placed, 1 cancelled (rejected), 5 delivered"
    assert summary(out, "payments") == "5 captured, 1 voided"
    assert summary(out, "faults") == "0"
    events = summary(out, "events")
    for subsystem in ("customer", "delivery", "order", "restaurant"):
        assert re.search(rf"{subsystem} \d+", events)
    for published in (
        "customer.order-placed",
        "restaurant-accepted",
        "restaurant.order-rejected",
        "order.order-status-changed",
        "delivery.delivery-status-changed",
        "payment-captured",
        "payment-voided",
    ):
        assert published in out


def test_under_chaos_the_summary_counts_each_event_once_and_the_duplicates_apart(
    capsys, monkeypatch
):
    argv = ["demo", "--orders", "6", "--seed", "3", "--timeline", "none"]
    assert main(argv) == 0
    calm = dict(re.findall(r"(\w+) (\d+)", summary(capsys.readouterr().out, "events")))
    monkeypatch.setenv("FOODDELIVERY_CHAOS_SEED", "3")  # redelivers: handlers publish again

    assert main(argv) == 0

    events = summary(capsys.readouterr().out, "events")
    counted = re.findall(r"(\w+) (\d+)(?: \(\+(\d+) duplicates?\))?", events)
    assert [s for s, _, _ in counted] == ["customer", "delivery", "order", "restaurant"], events
    assert any(again for _, _, again in counted), events
    for subsystem, count, _ in counted[:3]:  # their events have one id however often sent
        assert count == calm[subsystem], events


def test_under_chaos_each_notification_counts_once_and_every_copy_is_marked(capsys, monkeypatch):
    argv = ["demo", "--orders", "6", "--seed", "3", "--timeline", "all"]
    assert main(argv) == 0
    calm = capsys.readouterr().out
    monkeypatch.setenv("FOODDELIVERY_CHAOS_SEED", "3")  # redelivers: handlers publish again

    assert main(argv) == 0

    out = capsys.readouterr().out
    assert summary(out, "notifications") == summary(calm, "notifications")  # one per key
    table = out.split("Every event:\n", 1)[1].split("\n\n", 1)[0]
    marked = sum(" [duplicate] " in row for row in table.splitlines())
    again = re.findall(r"\+(\d+) duplicates?", summary(out, "events"))
    assert marked == sum(map(int, again)) > 0
    assert " [duplicate] " not in calm


def test_the_same_seed_tells_the_same_story(capsys):
    main(["demo", "--orders", "4", "--seed", "9", "--timeline", "none"])
    first = capsys.readouterr().out
    main(["demo", "--orders", "4", "--seed", "9", "--timeline", "none"])
    assert capsys.readouterr().out == first


def test_large_runs_show_progress_instead_of_flooding(capsys):
    assert main(["demo", "--orders", "25", "--timeline", "none"]) == 0
    captured = capsys.readouterr()
    assert "25/25 orders done" in captured.err
    assert summary(captured.out, "orders").startswith("25 placed")


def test_progress_is_a_line_a_round_unless_stderr_is_a_terminal(capsys):
    assert main(["demo", "--orders", "25", "--timeline", "none"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(lines)
    assert len(lines) > 1 and all(" orders done" in line for line in lines)


@pytest.mark.parametrize(("verbose", "rewritten"), [(False, True), (True, False)])
def test_on_a_terminal_progress_rewrites_its_line_unless_logs_share_it(
    capsys, monkeypatch, verbose, rewritten
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = ["demo", "--orders", "25", "--timeline", "none", *(["--verbose"] if verbose else [])]
    assert main(args) == 0
    assert ("\r  round" in capsys.readouterr().err) is rewritten


def test_progress_on_a_terminal_rewrites_one_line(capsys):
    from scenario.demo import progress
    from scenario.story import Outcome

    outcome = Outcome(orders={"o-1": {"status": "delivered"}}, rounds=3)
    progress(outcome, rewrite=True)
    assert capsys.readouterr().err == "\r  round   3: 1/1 orders done"


def test_a_bad_order_count_is_refused(capsys):
    assert main(["demo", "--orders", "0"]) == 2
    assert "--orders must be at least 1" in capsys.readouterr().err


def test_the_same_seed_prints_the_same_timeline_and_another_seed_another(capsys):
    # Ties in delivery order are broken by the (random) ids: the seed must draw them too.
    main(["demo", "--orders", "4", "--seed", "9"])
    first = capsys.readouterr().out
    main(["demo", "--orders", "4", "--seed", "9"])
    assert capsys.readouterr().out == first
    main(["demo", "--orders", "4", "--seed", "10"])
    assert capsys.readouterr().out != first


def test_too_many_orders_are_refused_before_anything_runs(capsys):
    from scenario.demo import MAX_ORDERS

    assert main(["demo", "--orders", str(MAX_ORDERS + 1)]) == 2
    assert f"--orders must be at most {MAX_ORDERS:,}" in capsys.readouterr().err


def test_orders_that_never_end_are_reported_and_fail_the_run(capsys, monkeypatch):
    from scenario.story import Story

    def nobody_acts(self, outcome):
        outcome.rounds += 1

    monkeypatch.setattr(Story, "play_round", nobody_acts)
    assert main(["demo", "--orders", "2", "--timeline", "none"]) == 1
    captured = capsys.readouterr()
    assert summary(captured.out, "orders") == "2 placed, 2 pending-payment"
    assert "2 orders had not ended after 200 rounds" in captured.err


def test_placing_many_orders_shows_progress_before_the_first_round(capsys):
    assert main(["demo", "--orders", "51", "--timeline", "none"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "  round   0: 50 orders placed"
    assert lines[-1].endswith(": 51/51 orders done")


def test_progress_counts_every_ended_order_as_done(capsys):
    from scenario.demo import progress
    from scenario.story import Outcome

    orders = {"o-1": {"status": "payment-declined"}, "o-2": {"status": "preparing"}}
    progress(Outcome(orders=orders, rounds=2), rewrite=False)
    assert capsys.readouterr().err == "  round   2: 1/2 orders done\n"


def test_enough_drivers_come_online_that_no_order_waits_past_its_deadline(capsys):
    # With a driver for every four orders, the last ones waited over 30 minutes: no-driver.
    assert main(["demo", "--orders", "30", "--seed", "2", "--timeline", "none"]) == 0
    assert (
        summary(capsys.readouterr().out, "orders")
        == "30 placed, 1 cancelled (rejected), 29 delivered"
    )


def timelines(out: str) -> dict[str, list[str]]:
    """Each traced order's timeline (by its heading), as its rows' event columns."""
    found: dict[str, list[str]] = {}
    for block in out.split("\n\n"):
        heading, *rows = block.strip().splitlines()
        if heading.startswith("Order "):
            found[heading] = [row.split(maxsplit=4)[-1] for row in rows[1:]]
    return found


def test_a_driver_lets_an_offer_run_out_and_the_demo_traces_it_offered_again(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out

    delivered = [events for heading, events in timelines(out).items() if "(delivered)" in heading]
    assert len(delivered) == 1, out
    [events] = delivered
    assert events.count("delivery-offered") == 2, events
    # withdrawn because it ran out (the event column says so), before the driver who took it
    assert events.index("offer-withdrawn (expired)") < events.index("offer-accepted")
    assert summary(out, "orders") == "5 placed, 1 cancelled (rejected), 4 delivered"


def test_when_every_order_goes_to_the_point_of_sale_it_refuses_one(capsys):
    # With this seed both orders go to the restaurant on its own ordering system.
    assert main(["demo", "--orders", "2", "--seed", "2"]) == 0
    out = capsys.readouterr().out

    assert summary(out, "orders") == "2 placed, 1 cancelled (rejected), 1 delivered"
    assert summary(out, "payments") == "1 captured, 1 voided"
    refused = [events for heading, events in timelines(out).items() if "(cancelled)" in heading]
    assert refused and "payment-voided" in refused[0], out


def test_the_readme_shows_what_the_demo_prints(capsys):
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    sample = readme.split("```\nFood delivery, embedded", 1)[1].split("```", 1)[0]
    assert main(["demo"]) == 0
    printed = iter(capsys.readouterr().out.splitlines())

    for line in ("Food delivery, embedded" + sample).splitlines():
        if line.strip() in ("", "…"):
            continue
        # "…" stands for the rest of an id: each line shown is printed, in this order.
        pattern = re.compile(".*?".join(map(re.escape, line.split("…"))))
        assert any(pattern.fullmatch(out) for out in printed), line


def test_the_readme_shows_what_the_chaos_demo_counts(capsys, monkeypatch):
    # Its figures went stale once, when a fix stopped a fact told twice under chaos.
    from pathlib import Path

    from shared.hub.chaos import CHAOS_ENV

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    [shown] = re.findall(r"`(events: +customer [^`]*), \.\.\.`", readme)
    monkeypatch.setenv(CHAOS_ENV, "3")
    assert main(["demo", "--orders", "30", "--seed", "3", "--timeline", "none"]) == 0
    [events] = [line for line in capsys.readouterr().out.splitlines() if "events:" in line]
    assert events.strip().startswith(shown + ","), (shown, events)


def test_interrupted_on_a_terminal_the_progress_line_is_ended(capsys, monkeypatch):
    from scenario import demo

    shown = demo.progress

    def ctrl_c_after_the_first_round(outcome, *, rewrite=None):
        shown(outcome, rewrite=rewrite)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "progress", ctrl_c_after_the_first_round)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["demo", "--orders", "21", "--timeline", "none"]) == 130
    # The shell's prompt comes back on a line of its own, not after the progress.
    assert capsys.readouterr().err == (
        "\r  round   1: 1/21 orders done\nfooddelivery demo: interrupted\n"
    )


def test_orders_that_end_otherwise_than_the_story_means_fail_the_run(capsys, monkeypatch):
    from scenario.actors import DriverApp

    monkeypatch.setattr(DriverApp, "offers", lambda app: [])  # every phone in a pocket
    assert main(["demo", "--orders", "3", "--timeline", "none"]) == 1
    captured = capsys.readouterr()
    # Every order ended, and no function failed: the summary alone told of the failure.
    orders = "3 placed, 2 cancelled (no-driver), 1 cancelled (rejected)"
    assert summary(captured.out, "orders") == orders
    assert summary(captured.out, "faults") == "0"
    assert captured.err.endswith(
        "fooddelivery demo: 2 orders ended otherwise than the story means (delivered, or"
        " cancelled for the one the kitchen refused): 2 cancelled (no-driver)\n"
    )


def test_a_refused_request_stops_the_story_with_a_line_saying_so(capsys, monkeypatch):
    # It ended in a traceback of the story's internals.
    from scenario.actors import StaffApp

    accept = StaffApp.accept
    monkeypatch.setattr(
        StaffApp, "accept", lambda app, order_id, minutes=15: accept(app, order_id, 0)
    )
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["demo", "--orders", "51", "--timeline", "none"]) == 1  # progress from round 0
    *progress, refused = capsys.readouterr().err.split("\n")[:-1]
    # On a line of its own, once the progress line was ended.
    assert progress and progress[-1].startswith("\r  round"), progress
    assert re.fullmatch(
        r"fooddelivery demo: a request was refused, the story stopped: POST \S+/accept"
        r" -> 400: .*prepMinutes.*",
        refused,
    ), refused


def test_no_restaurant_to_order_from_stops_the_story_with_a_line_saying_so(capsys, monkeypatch):
    # The story picked from an empty list: an IndexError from random's internals.
    from scenario.actors import CustomerApp

    monkeypatch.setattr(CustomerApp, "restaurants", lambda app, cuisine=None: [])
    assert main(["demo", "--orders", "2", "--timeline", "none"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "fooddelivery demo: the story stopped: no restaurant is open to order from: the browse"
        " view has not shown the restaurants published (is the stack still catching up?)"
    )


def test_written_to_one_file_the_output_comes_in_the_order_it_happened(tmp_path):
    # Piped, stdout is block-buffered: the progress lines and the failure message (stderr)
    # landed above the heading and the summary they follow (`make demo > log 2>&1`).
    import os
    import subprocess

    script = (
        "import sys\n"
        "from scenario.actors import DriverApp\n"
        "from shared.cli import main\n"
        "DriverApp.offers = lambda app: []\n"  # every phone in a pocket: no order delivered
        "sys.exit(main(['demo', '--orders', '21', '--timeline', 'none']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["FOODDELIVERY_DEV_KEY"] = str(tmp_path / "dev-key.pem")
    run = subprocess.run(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=240,
    )
    lines = run.stdout.splitlines()

    assert run.returncode == 1, run.stdout
    assert lines[0] == "Food delivery, embedded: 21 orders across 4 subsystems"
    assert lines[2].startswith("  round   1: ")  # progress, as the rounds are played
    assert lines[-2] == "  faults:        0"
    assert lines[-1].startswith("fooddelivery demo: 20 orders ended otherwise")


def test_interrupted_on_a_terminal_before_any_progress_nothing_is_left_to_end(capsys, monkeypatch):
    # The line was "ended" even when none had been written: a stray empty line.
    from scenario.story import Story

    def ctrl_c(self, max_rounds=200):
        raise KeyboardInterrupt

    monkeypatch.setattr(Story, "play", ctrl_c)  # while the world is seeded, say
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["demo", "--orders", "21", "--timeline", "none"]) == 130
    assert capsys.readouterr().err == "fooddelivery demo: interrupted\n"


def test_interrupted_while_the_system_is_built_it_says_so(capsys, monkeypatch):
    # Ctrl-C ended the demo with exit code 130 and not a word: it could pass for a crash.
    from scenario import demo

    def ctrl_c(**settings):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "EmbeddedStack", ctrl_c)
    assert main(["demo", "--timeline", "none"]) == 130
    assert capsys.readouterr().err == "fooddelivery demo: interrupted\n"


def test_with_verbose_the_functions_log_lines_go_to_stderr_and_the_report_stays_clean(capsys):
    assert main(["demo", "--orders", "2", "--timeline", "none", "--verbose"]) == 0
    printed = capsys.readouterr()
    assert " DEBUG " in printed.err and " handled in " in printed.err
    report = printed.out.splitlines()
    assert report[0].startswith("Food delivery, embedded")
    assert not any(" DEBUG " in line or " handled in " in line for line in report)


def test_the_heading_counts_the_registered_subsystems_and_says_order_for_one(capsys, monkeypatch):
    # It said "5 order(s) across four subsystems" whatever was registered.
    from scenario import stack
    from shared.sample import alpha, beta

    registered = stack.load_subsystems
    monkeypatch.setattr(stack, "load_subsystems", lambda: [*registered(), alpha.APP, beta.APP])
    assert main(["demo", "--orders", "1", "--timeline", "none"]) == 0
    heading = capsys.readouterr().out.splitlines()[0]
    assert heading == "Food delivery, embedded: 1 order across 6 subsystems"


@pytest.mark.parametrize(
    ("faults", "line"),
    [
        (1, "fooddelivery demo: 1 fault recorded (the summary lists it)\n"),
        (2, "fooddelivery demo: 2 faults recorded (the summary lists them)\n"),
    ],
)
def test_a_run_failed_only_by_faults_says_so_on_stderr(capsys, faults, line):
    # Every order ended as meant: the exit code 1 came with nothing on stderr.
    from scenario.demo import verdict
    from scenario.story import Outcome

    orders = {"o-1": {"status": "delivered"}, "o-2": {"status": "cancelled"}}
    outcome = Outcome(orders=orders, rejected="o-2", rounds=3)
    recorded = [{"function": "f", "error": {"message": "boom"}}] * faults

    assert verdict(outcome, 2, recorded, "fooddelivery demo") == 1
    assert capsys.readouterr().err == line


def test_a_run_without_faults_or_stray_orders_says_nothing_on_stderr(capsys):
    from scenario.demo import verdict
    from scenario.story import Outcome

    outcome = Outcome(orders={"o-1": {"status": "delivered"}}, rounds=1)

    assert verdict(outcome, 1, [], "fooddelivery demo") == 0
    assert capsys.readouterr().err == ""
