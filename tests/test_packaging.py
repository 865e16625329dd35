"""One place for pins; the README's two commands; CI calls the README's test command."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def pins(*, dev: bool = True) -> dict[str, str]:
    """The ``==`` pins of pyproject.toml: the runtime dependencies, and with ``dev`` the dev extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + (project["optional-dependencies"]["dev"] if dev else [])
    out = {}
    for dep in deps:
        name, sep, version = dep.partition("==")
        assert sep, f"{dep} is not pinned with =="
        out[name.lower()] = version
    return out


def test_every_dependency_is_pinned_and_torch_is_2_13():
    assert pins()["torch"] == "2.13.0" and pins()["triton"] == "3.7.1"
    assert pins()["snakemake"].startswith("9.")


def test_conda_environment_matches_pyproject():
    env = yaml.safe_load((ROOT / "envs/bnnrepro.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = dict(p.lower().split("==") for p in pip)
    assert conda == pins(dev=False)  # the conda environment runs the study; the dev extra is for checks


def test_lock_file_agrees_with_pyproject():
    lock = {}
    for line in (ROOT / "envs/constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            lock[name.lower().replace("_", "-")] = version
    for name, version in pins().items():
        assert lock.get(name) == version, f"envs/constraints.txt has {name}=={lock.get(name)}, pyproject {version}"


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    first = [line.split("#")[0].strip() for line in commands[0].splitlines() if line.split("#")[0].strip()]
    assert first[:2] == ["make run", "make test"]
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: .*\n\t\$\(SMK\) --cores \$\(CORES\) all", makefile, re.M)
    assert "CORES   ?= 8" in makefile
