"""The console end to end: a script in, a transcript out, through the real Router."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

import pytest
from shell_support import transcript

from circuitbot.actions.registry import Role
from circuitbot.chat.reply import Reply
from circuitbot.shell.commands import SHELL_HELP
from circuitbot.shell.console import run_shell


def after(out: str, marker: str) -> str:
    """The transcript from the line that echoes ``marker`` on."""
    return out[out.index(marker) :]


async def test_help_lists_every_verb_the_caller_may_run(runtime) -> None:
    code, out = await transcript(runtime, "help\n")
    assert code == 0
    assert "alice@#general> help\n" in out
    for op in runtime.registry:
        if op.required_role not in (Role.READER, Role.REQUESTER):
            continue  # alice's roles
        words = f"{op.provider} {op.verb}" if op.provider else op.verb
        assert f"• {words}" in out, words
    assert "• demo peering 🔒 — create a peering" in out


async def test_unknown_verb_answers_with_error_and_usage(runtime) -> None:
    code, out = await transcript(runtime, "bogus\n/circuit demo frobnicate\nhelp\n")
    assert code == 0
    assert "⚠️ unknown command bogus. Try /circuit help.\n  Usage: /circuit help [topic]" in out
    assert "⚠️ unknown demo verb frobnicate" in out
    assert "Traceback" not in out
    assert "• demo board" in after(out, "> help")  # the shell went on


async def test_switching_identity_changes_roles_and_prompt(runtime) -> None:
    _, out = await transcript(runtime, ":whoami\n:as bob\n:whoami\n:as UROOT\n:as\n:users\n")
    assert "» you are alice (UALICE) in #general; roles: requester, reader" in out
    assert "alice@#general> :as bob\n» you are bob (UBOB) in #general; roles: approver, reader" in out
    assert "bob@#general> :whoami\n» you are bob (UBOB)" in out
    assert "» you are root (UROOT) in #general; roles: admin, approver, requester, reader" in out
    assert "⚠️ usage: :as <user>" in out
    users = after(out, "> :users").splitlines()[1:]
    assert users == [
        "  alice  UALICE  requester, reader",
        "  bob    UBOB    approver, reader",
        "  carol  UCAROL  approver, reader",
        "  dave   UDAVE   reader",
        "* root   UROOT   admin, approver, requester, reader",
    ]


async def test_roles_follow_the_request_path(runtime) -> None:
    # dave only reads: a mutating verb is refused, a read is not
    _, out = await transcript(runtime, "demo peering k1 vlan=5\ndemo board\n", user="dave")
    assert "⚠️ demo.peering needs the requester role" in out
    assert "Circuit 9f8e1c52" in out
    assert runtime.approvals.submitted == []


async def test_mentions_reach_the_router_escaped_as_slack_sends_them(runtime) -> None:
    _, out = await transcript(runtime, "demo where #ops @bob\ndemo where #general @stranger\n")
    assert "channel COPS, who UBOB, asked as demo where COPS UBOB" in out
    assert "channel CGENERAL, who @stranger" in out


async def test_shell_help_and_unknown_shell_commands(runtime) -> None:
    _, out = await transcript(runtime, ":help\n:frob\n/deploy now\n# a comment line\n")
    assert SHELL_HELP.splitlines()[1] in out
    for verb in (":as", ":whoami", ":users", ":channel", ":press", ":messages", ":thread", ":wait", ":quit"):
        assert f"\n  {verb}" in out, verb
    assert "⚠️ unknown shell command :frob; :help lists them" in out
    assert "⚠️ unknown slash command /deploy" in out
    assert out.rstrip().endswith("alice@#general> # a comment line")


async def test_every_block_type_is_rendered_in_the_console(runtime) -> None:
    _, out = await transcript(runtime, "demo board\n")
    message = after(out, "[m1]")
    assert message.splitlines()[:4] == [
        "[m1] circuitbot in #general, only visible to you:",
        "  Circuit 9f8e1c52",
        "  ════════════════",
        "  State: Provisioned — see the portal (https://portal.example/c/9f8e), asked by @alice in #general",
    ]
    assert "  Location" in message and "  │ port-a    up" in message
    assert "  [1 Approve] [2 Reject]\n  Move to port ▾ [3 port A] [4 port B]" in message


async def test_a_numbered_button_reaches_its_registered_handler(runtime, recorder) -> None:
    _, out = await transcript(runtime, "demo board\n1\n")
    assert "» alice pressed [1 Approve] on m1" in out
    assert "[m2] circuitbot in #general, only visible to you:\n  got demo_vote:approve = req-7" in out
    [(user, interaction)] = recorder.presses
    assert user == "UALICE"
    assert (interaction.action_id, interaction.value, interaction.channel_id) == (
        "demo_vote:approve",
        "req-7",
        "CGENERAL",
    )
    assert interaction.message_ts and interaction.trigger_id


async def test_select_options_and_older_messages_can_be_pressed(runtime, recorder) -> None:
    script = "demo board\ndemo board\n:press 4 on m1\n:press 9 on m1\n:press 1 on m7\n:press 3\n"
    _, out = await transcript(runtime, script)
    older, newer = (interaction for _, interaction in recorder.presses)
    assert (older.action_id, older.value) == ("demo_vote:port", "port-b")
    assert "» alice pressed [4 port B] on m1" in out
    assert "⚠️ m1 has no button 9; it has [1 Approve] [2 Reject] [3 port A] [4 port B]" in out
    assert "⚠️ no message m7" in out
    assert "» alice pressed [3 port A] on m2" in out  # the newest message with buttons
    assert (newer.value, newer.channel_id) == ("port-a", "CGENERAL")
    assert newer.message_ts != older.message_ts


async def test_a_confirm_dialog_asks_before_the_press_counts(runtime, recorder) -> None:
    _, out = await transcript(runtime, "demo board\n2\nn\n2\ny\n2 y\n")
    assert "  ┌─ Reject request 7?\n  │ The requester will be told.\n  └─ y = Yes, n = Cancel" in out
    assert "  confirm (y/n)> n\n» cancelled" in out
    assert [i.action_id for _, i in recorder.presses] == ["demo_vote:reject", "demo_vote:reject"]


async def test_another_persons_ephemeral_buttons_cannot_be_pressed(runtime, recorder) -> None:
    _, out = await transcript(runtime, "demo board\n:as bob\n1\n:press 1 on m1\n")
    assert "⚠️ no message with buttons yet" in out
    assert "⚠️ m1 is not visible to bob" in out
    assert recorder.presses == []


async def test_a_page_turn_replaces_the_message_it_came_from(runtime) -> None:
    _, out = await transcript(runtime, "demo rows\n1\n:messages\n")
    assert "[m1] circuitbot in #general, only visible to you (edited):\n  page 2 of 3" in out
    assert "[1 ◂ Previous] [2 Next ▸]" in out
    listing = after(out, "> :messages")
    assert "m1" in listing and "m2" not in listing and "(2 to press, edited)" in listing


async def test_a_modal_is_answered_field_by_field_and_a_bad_value_is_asked_again(runtime) -> None:
    script = "demo peering\nk1\n5000\ns3cret-key\n2\n100\n"
    code, out = await transcript(runtime, script)
    assert code == 0
    assert "┌─ demo peering" in out and "│ ▸ Vlan (required)" in out
    assert "  Key: k1\n  Vlan: 5000\n  Shared key (optional): ••••\n" in out
    assert "» ⚠️ Vlan: Input should be less than or equal to 4094 (got '5000')\n  Vlan [5000]: 100\n" in out
    assert out.count("\n  Key") == 1 and out.count("\n  Kind (optional)") == 1  # only the bad field again
    assert "s3cret-key" not in out
    [(user, name, params)] = runtime.approvals.submitted
    assert (user, name, params.key, params.vlan, params.kind) == (
        "UALICE",
        "demo.peering",
        "k1",
        100,
        "microsoft",
    )
    assert params.shared_key.get_secret_value() == "s3cret-key"
    assert (
        "[m1] circuitbot in #approvals:\n  @alice asks for demo.peering on k1\n  [1 Approve] [2 Reject]"
        in out
    )
    assert "request r1 is waiting for an approver in #approvals" in out


async def test_a_modal_takes_key_value_answers_on_one_line(runtime) -> None:
    script = "demo peering k2\nvlan=abc kind=Microsoft\n7\ndemo peering\nkey=k3 vlan=8 kind=9\n1\n"
    _, out = await transcript(runtime, script)
    assert "│ ▸ Key (required): k2" in out
    assert "  Key [k2]: vlan=abc kind=Microsoft\n» ⚠️ Vlan: Input should be a valid integer" in out
    assert "» ⚠️ Kind: Input should be 'private' or 'microsoft' (got '9')" in out
    assert [(p.key, p.vlan, p.kind) for _, _, p in runtime.approvals.submitted] == [
        ("k2", 7, "microsoft"),
        ("k3", 8, "private"),
    ]


async def test_a_modal_can_be_cancelled_and_end_of_input_closes_it(runtime) -> None:
    _, out = await transcript(runtime, "demo peering k1\n:cancel\ndemo peering k2\n")
    assert out.count("» form closed; nothing was submitted") == 2
    assert runtime.approvals.submitted == []


async def test_the_approval_flow_across_identities_with_posts_edits_and_threads(runtime) -> None:
    script = "demo peering k1 vlan=5\n:as bob\n1\n:messages #approvals\n"
    code, out = await transcript(runtime, script)
    assert code == 0
    assert "[m2] circuitbot in #approvals:\n  @alice asks for demo.peering on k1" in out
    assert (
        "bob@#general> 1\n» bob pressed [1 Approve] on m2\n[m2] circuitbot in #approvals (edited):\n" in out
    )
    assert "  request r1 approved by @bob" in out
    assert "m2  00:00:00  request r1 approved by @bob  (edited)" in after(out, "> :messages")
    # the executor's thread reply comes in the background; at the end the shell waits for it
    assert out.rstrip().endswith("    [m4] circuitbot in #approvals, thread of m2:\n      request r1 done")


async def test_threads_can_be_listed_and_shown(runtime) -> None:
    script = "demo peering k1 vlan=5\n:as bob\n1\n:wait 1\n:messages #approvals\n:thread m4\n"
    _, out = await transcript(runtime, script)
    listing = after(out, "> :messages").split("bob@")[0].splitlines()
    assert listing[2:] == [
        "    m2  00:00:00  request r1 approved by @bob  (1 reply, edited)",
        "    m4  00:00:00  request r1 done  (in thread of m2)",
    ]
    thread = after(out, "> :thread m4").splitlines()[1:]
    assert thread == [
        "[m2] circuitbot in #approvals (edited):",
        "  request r1 approved by @bob",
        "    [m4] circuitbot in #approvals, thread of m2:",
        "      request r1 done",
    ]


async def test_wait_lets_background_work_run_on_the_clock(runtime, clock) -> None:
    async def later() -> None:
        await clock.sleep(30)
        await runtime.poster.post("#ops", Reply.plain("circuit k1 is Provisioned", ephemeral=False))

    original = runtime.approvals.submit

    async def submit_and_follow(ctx, op, params):
        asyncio.get_running_loop().create_task(later())
        return await original(ctx, op, params)

    runtime.approvals.submit = submit_and_follow
    _, out = await transcript(
        runtime, "demo peering k1 vlan=5\n:wait 10\n:channel #ops\n:wait 20\n:messages\n"
    )
    first_wait = after(out, "> :wait 10")
    assert first_wait.startswith("> :wait 10\n» waited 10s\n")  # not due yet
    assert "> :wait 20\n[m4] circuitbot in #ops:\n  circuit k1 is Provisioned\n» waited 20s" in out
    assert "m4  00:00:30  circuit k1 is Provisioned" in after(out, "> :messages")
    assert "⚠️ usage: :wait" in (await transcript(runtime, ":wait soon\n"))[1]


async def test_the_wait_for_background_work_at_the_end_is_bounded(runtime, clock) -> None:
    async def parked() -> None:
        await clock.sleep(3600)  # nobody moves the test clock: it never finishes by itself

    async def submit_and_park(ctx, op, params):
        tasks.append(asyncio.get_running_loop().create_task(parked()))
        return Reply.plain("parked")

    tasks: list[asyncio.Task] = []
    runtime.approvals.submit = submit_and_park
    code, out = await transcript(runtime, "demo peering k1 vlan=5\n", drain_seconds=0)
    assert code == 0
    assert out.rstrip().endswith("» stopped waiting for background work after 0s")
    assert not tasks[0].done()
    tasks[0].cancel()


async def test_unexpected_errors_print_one_line_with_an_error_id(runtime) -> None:
    code, out = await transcript(runtime, "demo crash\nhelp\n")
    assert code == 0
    line = after(out, "> demo crash").splitlines()[1]
    assert line.startswith("» ⚠️ something went wrong (error id ") and line.endswith("); the shell goes on")
    assert "Traceback" not in out and "• demo board" in after(out, "> help")
    error_id = line.split("error id ")[1].split(")")[0]
    log_file = runtime.settings.data_dir / "shell.log"
    assert (
        error_id in log_file.read_text() and "RuntimeError: the instant path exploded" in log_file.read_text()
    )


async def test_tracebacks_stay_off_the_terminal_while_the_shell_runs(runtime, monkeypatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        await transcript(runtime, "demo crash\n")
        assert root.handlers[-1] is handler  # put back as it was
    finally:
        root.removeHandler(handler)
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 1 and "shell line failed (error id" in lines[0]
    assert "RuntimeError" in (runtime.settings.data_dir / "shell.log").read_text()


@pytest.mark.parametrize(("log_level", "in_the_file"), [("INFO", True), ("WARNING", False)])
async def test_the_log_file_follows_the_log_level_setting_and_the_terminal_stays_quiet(
    runtime, monkeypatch, log_level, in_the_file
) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # as the command line sets it up for the shell
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"log_level": log_level}))
    original = runtime.approvals.submit

    async def submit_and_log(ctx, op, params):
        logging.getLogger("circuitbot.approvals").info("request noted for %s", params.key)
        logging.getLogger("circuitbot.approvals").debug("request details for %s", params.key)
        return await original(ctx, op, params)

    runtime.approvals.submit = submit_and_log
    try:
        await transcript(runtime, "demo peering k1 vlan=5\ndemo crash\n")
        assert root.level == logging.WARNING  # put back as it was
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
    log_file = (runtime.settings.data_dir / "shell.log").read_text()
    assert ("INFO circuitbot.approvals: request noted for k1" in log_file) is in_the_file
    assert "request details" not in log_file
    assert "RuntimeError: the instant path exploded" in log_file
    [line] = terminal.getvalue().splitlines()  # the terminal shows warnings and worse, as before
    assert "shell line failed (error id" in line


def test_the_log_file_is_scrubbed_tracebacks_included(tmp_path) -> None:
    from circuitbot.shell.terminal import tracebacks_to_file

    path = tmp_path / "shell.log"
    with tracebacks_to_file(path, "INFO"):
        try:
            raise RuntimeError("the provider answered sharedKey=abc123")
        except RuntimeError:
            logging.getLogger("circuitbot.test").exception("failed with password=hunter2")
    text = path.read_text()
    assert (
        "failed with password=••••" in text and "RuntimeError: the provider answered sharedKey=••••" in text
    )
    assert "abc123" not in text and "hunter2" not in text


async def test_engines_are_started_and_stopped_when_they_can_be(runtime) -> None:
    class Watches:
        def __init__(self) -> None:
            self.calls: list[str] = []

        async def start(self) -> None:
            self.calls.append("start")

        def stop(self) -> None:  # a plain function works as well
            self.calls.append("stop")

    runtime.watches = Watches()
    await transcript(runtime, "help\n")
    assert runtime.watches.calls == ["start", "stop"]
    assert (runtime.approvals.started, runtime.approvals.stopped) == (1, 1)
    runtime.watches = object()  # nothing to start or stop: the shell runs all the same
    code, out = await transcript(runtime, "help\n")
    assert code == 0 and "• demo board" in out


async def test_the_shell_keeps_a_given_runtime_open_and_restores_its_poster(runtime) -> None:
    before = runtime.poster
    await transcript(runtime, ":quit\nhelp\n")
    assert runtime.poster is before
    async with runtime.db.session():
        pass  # still usable


async def test_quit_stops_before_the_rest_of_the_script(runtime) -> None:
    out = io.StringIO()
    code = await run_shell(runtime.settings, stdin=io.StringIO(":quit\nhelp\n"), stdout=out, runtime=runtime)
    assert code == 0 and "> :quit" in out.getvalue() and "> help" not in out.getvalue()


async def test_the_shell_builds_its_own_runtime_on_a_sqlite_file(tmp_path) -> None:
    from circuitbot.settings import Settings

    out = io.StringIO()
    code = await run_shell(Settings(data_dir=tmp_path), stdin=io.StringIO(":as carol\n"), stdout=out)
    assert code == 0
    assert (tmp_path / "circuitbot.db").exists()
    assert "you are carol (UCAROL) in #general; roles: approver, reader" in out.getvalue()


def test_sandbox_roles_by_name_unless_settings_name_roles(tmp_path) -> None:
    from circuitbot.settings import Settings
    from circuitbot.shell.directory import shell_settings

    given = shell_settings(Settings(data_dir=tmp_path), sandbox=True)
    assert (given.requesters, given.approvers, given.admins) == (["UALICE"], ["UBOB", "UCAROL"], ["UROOT"])
    explicit = Settings(data_dir=tmp_path, approvers=["U0APPROVER"])
    assert shell_settings(explicit, sandbox=True) is explicit
    real = Settings(data_dir=tmp_path)
    assert shell_settings(real, sandbox=False) is real


async def test_clock_moves_time_forward_and_wait_lets_every_scheduled_job_run(runtime, clock) -> None:
    seen: list[str] = []

    async def job() -> None:  # a job whose next run is an hour away: only :wait brings it now
        seen.append(f"{clock.now():%H:%M}")

    runtime.scheduler.every("test.job", 3600, job, now=False)
    try:
        _, out = await transcript(runtime, ":clock\n:clock +2h\n:wait 1\n:clock -1h\n:clock soon\n")
    finally:
        await runtime.scheduler.retire(["test.job"], 1)
    assert "> :clock\n» the bot's clock: Thu 2026-01-01 00:00 UTC" in out
    assert "> :clock +2h\n» the bot's clock: Thu 2026-01-01 02:00 UTC; :wait lets what is due run" in out
    assert seen == ["02:00"], "the job ran at once, on the moved clock"
    assert out.count("usage: :clock [+<n>m|h|d]") == 2, "forward only, and only as +<n><unit>"
