"""The Dockerfile, checked without a Docker engine: parsed instruction by instruction."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from support.paths import REPOSITORY

DOCKERFILE = REPOSITORY / "Dockerfile"
DOCKERIGNORE = REPOSITORY / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK … CMD)."""
        start = self.arguments.index("[")
        return json.loads(self.arguments[start:])


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in stage {self.name or self.base}, found {found}"
        return found[0]


def logical_lines(text: str) -> Iterator[str]:
    """Dockerfile lines with comments dropped and backslash continuations joined."""
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line:
            yield line


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line in logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_parser_understands_continuations_and_stages() -> None:
    parsed = parse_stages("FROM a AS one\n# note\nRUN x \\\n  && y\nFROM b\nUSER 1\n")
    assert [(s.base, s.name) for s in parsed] == [("a", "one"), ("b", None)]
    assert parsed[0].instructions == [Instruction("RUN", "x && y")]


def test_multi_stage_build_on_python_slim(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    assert all(s.base == "python:3.11-slim" for s in stages)
    builder = stages[0]
    assert builder.name == "builder"
    assert any("pip install" in r.arguments for r in builder.all("RUN"))
    assert any("python -m venv /opt/venv" in r.arguments for r in builder.all("RUN"))


def test_final_stage_copies_only_the_venv_from_the_builder(final: Stage) -> None:
    copies = [c.arguments.split() for c in final.all("COPY")]
    assert copies == [["--from=builder", "/opt/venv", "/opt/venv"]]


def test_final_stage_runs_as_a_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "final stage has no USER"
    user, _, group = users[-1].arguments.partition(":")
    assert user not in ("root", "0")
    assert group not in ("root", "0")
    assert user == "10001"
    # nothing after USER switches back or runs as root
    after_user = final.instructions[final.instructions.index(users[-1]) :]
    assert not [i for i in after_user if i.keyword == "RUN"]
    created = " ".join(r.arguments for r in final.all("RUN"))
    assert "useradd" in created and "--uid 10001" in created


def test_data_dir_belongs_to_the_user(final: Stage) -> None:
    env = " ".join(e.arguments for e in final.all("ENV"))
    assert "CIRCUITBOT_DATA_DIR=/data" in env
    setup = " ".join(r.arguments for r in final.all("RUN"))
    assert "mkdir -p /data" in setup
    assert "chown 10001:10001 /data" in setup


def test_entrypoint_runs_circuitbot_serve_over_http(final: Stage) -> None:
    assert final.one("ENTRYPOINT").exec_form() == ["circuitbot"]
    assert final.one("CMD").exec_form() == ["serve", "--http", "--port", "3000"]
    assert final.one("EXPOSE").arguments == "3000"
    scripts = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["scripts"]
    assert "circuitbot" in scripts, "ENTRYPOINT needs the circuitbot console script"


def healthcheck_command(final: Stage) -> list[str]:
    healthcheck = final.one("HEALTHCHECK")
    options = shlex.split(healthcheck.arguments[: healthcheck.arguments.index("CMD")])
    assert all(o.startswith("--") for o in options)
    return healthcheck.exec_form()


def test_healthcheck_probes_healthz_with_python_not_curl(final: Stage) -> None:
    command = healthcheck_command(final)
    assert command[:2] == ["python", "-c"]
    assert "http://127.0.0.1:3000/healthz" in command[2]
    assert "urllib" in command[2]
    assert not {"curl", "wget"} & set(" ".join(command).split())


class _HealthHandler(BaseHTTPRequestHandler):
    # set per server by the fixture, which makes a fresh subclass each time
    status: ClassVar[int]
    paths: ClassVar[list[str]]

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[type[_HealthHandler], int]]:
    handler = type("Handler", (_HealthHandler,), {"paths": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_passes_only_when_healthz_answers_ok(final: Stage, health_server, status, healthy):
    handler, port = health_server
    handler.status = status
    program, flag, code = healthcheck_command(final)
    assert program == "python"
    result = subprocess.run(
        [sys.executable, flag, code.replace("127.0.0.1:3000", f"127.0.0.1:{port}")],
        capture_output=True,
        timeout=30,
    )
    assert (result.returncode == 0) is healthy
    assert handler.paths == ["/healthz"]


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_copied_build_file_exists_and_is_not_dockerignored(stages: list[Stage]) -> None:
    ignored = dockerignore_patterns()
    for stage in stages:
        for copy in stage.all("COPY"):
            words = copy.arguments.split()
            if any(w.startswith("--from") for w in words):
                continue
            for source in words[:-1]:
                assert (REPOSITORY / source).exists(), f"COPY source {source} missing from the repository"
                assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    assert {".git", ".venv", ".env", ".env.*", "data", "*.db"} <= set(dockerignore_patterns())


# --- the image's steps, run without an engine -------------------------------------------------------

NOBODY = 65534


def _substituted(text: str, paths: dict[str, Path]) -> str:
    for image_path, local in paths.items():
        text = text.replace(image_path, str(local))
    return text


def _interpreter_for_everyone() -> Path | None:
    """A Python 3.11+ that another user can run (the image's is /usr/local/bin/python, readable by
    all; a development interpreter under a private home directory is not)."""
    for candidate in (Path(sys.executable).resolve(), Path("/usr/bin/python3")):
        reachable = all(os.stat(p).st_mode & 0o001 for p in [*candidate.parents, candidate])
        if candidate.exists() and reachable:
            version = subprocess.run(
                [candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
            )
            if version.stdout.strip() == "True":
                return candidate
    return None


def _run_builder(builder: Stage, paths: dict[str, Path], python: Path) -> None:
    """The builder stage's ENV, WORKDIR, COPY and RUN, with the image's paths mapped onto ``paths``
    and ``python`` as the image's ``python``."""
    (paths["/build"].parent / "bin").mkdir()
    (paths["/build"].parent / "bin" / "python").symlink_to(python)
    env = {**os.environ, "PATH": f"{paths['/build'].parent / 'bin'}:{os.environ['PATH']}"}
    cwd = paths["/build"].parent  # before any WORKDIR: the image's root
    for instruction in builder.instructions:
        arguments = _substituted(instruction.arguments, paths)
        if instruction.keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value.replace("$PATH", env["PATH"])
        elif instruction.keyword == "WORKDIR":
            cwd = Path(arguments)
            cwd.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            *sources, target = instruction.arguments.split()
            for source in sources:
                destination = cwd / target / Path(source).name if target.endswith("/") else cwd / target
                if (REPOSITORY / source).is_dir():
                    shutil.copytree(
                        REPOSITORY / source, destination, ignore=shutil.ignore_patterns("*.egg-info")
                    )
                else:
                    shutil.copy(REPOSITORY / source, destination)
        elif instruction.keyword == "RUN":
            subprocess.run(
                ["bash", "-c", arguments], cwd=cwd, env=env, check=True, capture_output=True, timeout=900
            )


def _as_nobody() -> None:
    if os.geteuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A world-readable directory (tmp_path is private to its owner; the image runs as another user)."""
    root = Path(tempfile.mkdtemp(prefix="circuitbot-image-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_image_steps_install_without_installers_and_run_as_a_non_root_user(
    stages: list[Stage], final: Stage, image_root: Path
) -> None:
    python = _interpreter_for_everyone()
    if python is None:
        pytest.skip("no Python 3.11+ with venv that a non-root user can run on this machine")
    paths = {"/opt/venv": image_root / "venv", "/build": image_root / "build", "/data": image_root / "data"}
    _run_builder(stages[0], paths, python)
    paths["/data"].mkdir(mode=0o777)
    paths["/data"].chmod(0o777)
    venv_bin = paths["/opt/venv"] / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCUITBOT_", "SLACK_", "PIP_"))}
    env.update(
        PATH=f"{venv_bin}:{env['PATH']}", CIRCUITBOT_DATA_DIR=str(paths["/data"]), HOME=str(paths["/data"])
    )
    [entrypoint] = final.one("ENTRYPOINT").exec_form()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(venv_bin / entrypoint), *args]
        return subprocess.run(
            command,
            env=env,
            cwd=paths["/data"],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_as_nobody,
        )

    installers = subprocess.run(
        [
            str(venv_bin / "python"),
            "-c",
            "import importlib.util as u; print(u.find_spec('pip'), u.find_spec('setuptools'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    version, upgrade = run("--version"), run("db", "upgrade")
    check = run("check", "--sandbox")

    assert installers.stdout.split() == ["None", "None"], "pip and setuptools left in the runtime venv"
    assert version.returncode == 0 and version.stdout.startswith("circuitbot ")
    assert upgrade.returncode == 0, upgrade.stderr
    # no Slack token is set, so the Slack item fails; everything else proves itself as that user
    assert "OK   migrations: at head" in check.stdout and "OK   azure:" in check.stdout, (
        check.stdout + check.stderr
    )
    assert "Traceback" not in check.stderr
