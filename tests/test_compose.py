"""The container and service files, checked by the real tools (no Docker engine needed):
compose files merged with a stand-in of each gallery's official project by Debian's
`docker-compose config`; systemd units by `systemd-analyze verify`; the Dockerfile parsed
by BuildKit's own parser, and its install steps run in a fresh virtual environment, so a
broken dependency line fails here. The commands the files run are parsed by our own CLI."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

from importer.cli import build_parser
from importer.config import build_settings, merge_section, parse_duration
from tests.conftest import REPO

COMPOSE = REPO / "compose"
STANDINS = Path(__file__).parent / "compose"
GALLERIES = {  # compose folder: (stand-in, service, URL in the command, secret variable)
    "immich": ("immich-upstream.yml", "immich-server", "immich:http://immich-server:2283",
               "IMMICH_API_KEY_FILE"),
    "photoprism": ("photoprism-upstream.yml", "photoprism", "photoprism:http://photoprism:2342",
                   "PHOTOPRISM_TOKEN_FILE"),
}


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is required: apt-get install {package} (see README test command)")
    return found


def compose_config(gallery: str, project: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    upstream = project / "docker-compose.yml"
    shutil.copyfile(STANDINS / GALLERIES[gallery][0], upstream)
    command = [tool("docker-compose", "docker-compose"), "--project-directory", str(project),
               "--env-file", str(env_file), "-f", str(upstream),
               "-f", str(COMPOSE / gallery / "docker-compose.yml"), "config"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTER_", "IMMICH_",
                                                                      "PHOTOPRISM_"))}
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


@pytest.mark.parametrize("gallery", sorted(GALLERIES))
def test_compose_file_joins_the_gallery_project(gallery: str, tmp_path: Path) -> None:
    done = compose_config(gallery, tmp_path, COMPOSE / ".env.example")
    assert done.returncode == 0, done.stderr
    merged: dict[str, Any] = yaml.safe_load(done.stdout)
    _, server, url, secret_variable = GALLERIES[gallery]
    services = merged["services"]
    ours = services["gphotos-importer"]
    assert server in services and server in ours["depends_on"]
    assert "networks" not in ours and "networks" not in services[server]  # same default net
    assert ours["restart"] == "unless-stopped"
    secret = ours["environment"][secret_variable]
    (name,) = [s["source"] for s in ours["secrets"]]
    assert secret == f"/run/secrets/{name}" and name in merged["secrets"]
    assert not any("KEY=" in str(v) or "TOKEN=" in str(v) for v in ours["environment"])
    volumes = {v.split(":")[-2] if v.count(":") > 1 else v.split(":")[-1]
               for v in map(str, ours["volumes"])}
    assert {"/inbox", "/state"} <= volumes
    args = build_parser().parse_args(ours["command"])
    assert args.command == "watch" and args.to == url and args.inbox == "/inbox"
    settings = merge_section(build_settings(None, {"to": args.to}), "watch",
                             {"interval": args.interval, "settle": args.settle})
    assert settings.watch.interval == 600 and settings.watch.settle == 300
    host_port = url.split("//")[1]
    assert host_port.split(":")[0] == server


@pytest.mark.parametrize("gallery", sorted(GALLERIES))
def test_compose_file_says_what_is_missing(gallery: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = compose_config(gallery, tmp_path, empty)
    assert done.returncode != 0
    assert "IMPORTER_INBOX" in done.stderr


def unit_values(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_systemd_units_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` in a scratch root holding the system's units and the
    program at the place the service names (it checks the executable exists)."""
    analyze = tool("systemd-analyze", "systemd")
    units = COMPOSE / "systemd"
    service = unit_values(units / "gphotos-importer.service")
    program, *args = shlex.split(service["ExecStart"][0])
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / program.lstrip("/")).parent.mkdir(parents=True)
    shutil.copy2(Path(sys.executable).parent / "gphotos-importer", root / program.lstrip("/"))
    installed = root / "etc/systemd/system"
    installed.mkdir(parents=True)
    for unit in ("gphotos-importer.service", "gphotos-importer.timer"):
        shutil.copyfile(units / unit, installed / unit)
    done = subprocess.run([analyze, "verify", f"--root={root}", "gphotos-importer.service",
                           "gphotos-importer.timer"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr

    parsed = build_parser().parse_args(args)
    assert parsed.command == "watch" and parsed.once
    config = build_settings(units / "config.yaml", {}, env={})
    timer = unit_values(units / "gphotos-importer.timer")
    assert parse_duration(timer["OnUnitInactiveSec"][0].replace("min", "m")) == \
        config.watch.interval
    assert service["Type"] == ["oneshot"] and service["User"] != ["root"]


@pytest.fixture(scope="module")
def instructions() -> list[Any]:
    return list(dockerfile.parse_file(str(COMPOSE / "Dockerfile")))


def last(instructions: list[Any], cmd: str) -> Any:
    found = [i for i in instructions if i.cmd == cmd.upper()]
    assert found, f"no {cmd} in the Dockerfile"
    return found[-1]


def test_dockerfile_image_shape(instructions: list[Any]) -> None:
    base = last(instructions, "from").value[0]
    assert base.startswith("python:") and "-slim" in base
    user = last(instructions, "user").value[0]
    assert user not in ("root", "0")
    assert last(instructions, "healthcheck").value == ("CMD", "gphotos-importer", "health")
    entry = last(instructions, "entrypoint").value
    assert entry[0] == "tini" and entry[-1] == "gphotos-importer"
    assert {"/inbox", "/state"} <= set(last(instructions, "volume").value)
    env = " ".join(" ".join(i.value) for i in instructions if i.cmd == "ENV")
    assert "XDG_STATE_HOME /state" in env or "XDG_STATE_HOME=/state" in env
    runs = " ".join(i.value[0] for i in instructions if i.cmd == "RUN")
    packages = _apt_packages(runs)
    assert {"chromium", "tini"} <= packages
    known = subprocess.run(["apt-cache", "show", *sorted(packages)], capture_output=True,
                           text=True, check=False)
    assert known.returncode == 0, f"not Debian packages: {known.stderr}"


def _apt_packages(runs: str) -> set[str]:
    words = shlex.split(runs.replace("&&", " && "))
    start = words.index("install") + 1
    end = words.index("&&", start)
    return {w for w in words[start:end] if not w.startswith("-")}


@pytest.mark.slow
def test_dockerfile_install_steps_in_a_fresh_venv(instructions: list[Any], tmp_path: Path) -> None:
    """The COPY and Python install steps, as written, into a scratch root (`/opt/…` is
    moved under it). pip's cache is allowed (`--no-cache-dir` only keeps the image small),
    so this is a local install after the suite's own one."""
    root = tmp_path / "root"
    workdir = Path("/")
    for step in instructions:
        if step.cmd == "WORKDIR":
            workdir = Path(step.value[0])
        elif step.cmd == "COPY":
            *sources, dest = step.value
            target = root / workdir.relative_to("/") / dest
            for source in sources:
                origin = REPO / source
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target)
        elif step.cmd == "RUN" and ("pip" in step.value[0] or "venv" in step.value[0]):
            _run_step(step.value[0], root, workdir, tmp_path)
            break
    program = next(root.glob("opt/**/bin/gphotos-importer"))
    version = subprocess.run([program, "--version"], capture_output=True, text=True,
                             check=False)
    assert version.returncode == 0 and "gphotos-importer" in version.stdout
    health = subprocess.run([program, "health", "--state", tmp_path / "state.sqlite"],
                            capture_output=True, text=True, check=False)
    assert health.returncode == 1 and "watch has not run" in health.stdout


def _run_step(command: str, root: Path, workdir: Path, tmp_path: Path) -> None:
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").symlink_to(sys.executable)  # the image's `python`
    command = command.replace("/opt/", f"{root}/opt/").replace("--no-cache-dir", "")
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", command],
                          cwd=root / workdir.relative_to("/"), env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
