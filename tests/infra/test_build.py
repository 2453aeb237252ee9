"""The Docker-free asset build: what goes into each folder, and when pip runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import build
from infra.build import DependencyLayerError
from infra.config import DOMAIN_PACKAGE_DIR, LAMBDA_PYTHON_VERSION, PYPROJECT, RUNTIME_PROVIDED_DISTRIBUTIONS

pytestmark = pytest.mark.infra


class FakePip:
    """Stands in for pip: records each call and creates the --target folder it was given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, arguments: list[str]) -> None:
        self.calls.append(arguments)
        target = Path(arguments[arguments.index("--target") + 1])
        target.mkdir(parents=True, exist_ok=True)
        (target / "installed.txt").write_text(" ".join(arguments))


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> FakePip:
    pip = FakePip()
    monkeypatch.setattr(build, "_pip_install", pip)
    monkeypatch.setattr(
        build, "_resolve", lambda requirements, scratch: [("jinja2", "3.1.6"), ("botocore", "1.44.5")]
    )
    return pip


def test_function_asset_is_the_function_folder_without_bytecode(tmp_path: Path) -> None:
    folder = build.copy_function("track", tmp_path)

    assert (folder / "handler.py").is_file()
    assert not list(folder.rglob("__pycache__"))


def test_domain_layer_ships_the_package_without_operator_tools(tmp_path: Path) -> None:
    # The operator tools (the CLI, the local runtime) live outside the package, in devtools/: the layer is
    # the package as it is, file for file, and nothing else.
    python = build.copy_domain_layer(tmp_path) / "python"
    package = python / "nudge"

    assert [path.name for path in python.iterdir()] == ["nudge"]
    assert (package / "model" / "tables.py").is_file()
    shipped = {path.relative_to(package) for path in package.rglob("*.py")}
    assert shipped == {
        path.relative_to(DOMAIN_PACKAGE_DIR)
        for path in DOMAIN_PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert not {path for path in shipped if path.parts[0] in ("local", "cli.py")}


def test_layer_requirements_are_the_projects_minus_the_sdk(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    dependencies = '["boto3>=1.35", "Jinja2>=3.1", "botocore", "pynamodb<7"]'
    pyproject.write_text(f"[project]\ndependencies = {dependencies}\n")

    assert build.lambda_requirements(pyproject) == ["Jinja2>=3.1", "pynamodb<7"]


def test_project_requirements_reach_the_layer_except_boto3() -> None:
    requirements = build.lambda_requirements(PYPROJECT)

    assert requirements
    assert not any(r.startswith("boto3") for r in requirements)


def test_dependency_layer_leaves_out_what_the_runtime_provides(tmp_path: Path, fake_pip: FakePip) -> None:
    build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"])

    (install,) = fake_pip.calls
    assert "jinja2==3.1.6" in install
    assert not [a for a in install if a.split("==")[0] in RUNTIME_PROVIDED_DISTRIBUTIONS]


def test_dependency_layer_is_reused_while_requirements_stay(tmp_path: Path, fake_pip: FakePip) -> None:
    first = build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"])
    again = build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"])

    assert again == first
    assert (first / "python" / "installed.txt").is_file()
    assert len(fake_pip.calls) == 1


def test_dependency_layer_is_rebuilt_when_requirements_change(tmp_path: Path, fake_pip: FakePip) -> None:
    build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"])
    build.build_dependencies_layer(tmp_path, ["jinja2>=3.1", "pynamodb<7"])

    assert len(fake_pip.calls) == 2


def test_pip_failure_says_what_the_layer_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found for jinja2")

    monkeypatch.setattr(subprocess, "run", offline)

    with pytest.raises(DependencyLayerError, match=r"manylinux2014_aarch64(.|\n)*PyPI(.|\n)*No matching"):
        build._pip_install(["--target", "/nowhere", "jinja2"])


def test_skipping_dependencies_gives_a_placeholder_layer(tmp_path: Path) -> None:
    assets = build.build_assets(tmp_path, functions=("track",), with_dependencies=False)

    assert (assets.dependencies_layer / "python").is_dir()
    assert assets.functions["track"] == tmp_path / "functions" / "track"


@pytest.fixture(scope="module")
def lambda_python() -> str:
    found = build.lambda_python()
    if found is None:
        pytest.skip(f"no python{LAMBDA_PYTHON_VERSION} on this machine: the build ships source only")
    return found


def _pyc_files(folder: Path) -> dict[Path, bytes]:
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*.pyc")}


def test_domain_layer_ships_bytecode_lambdas_python_reads(tmp_path: Path, lambda_python: str) -> None:
    python = build.copy_domain_layer(tmp_path) / "python"

    build.compile_bytecode(python, lambda_python, "/opt/python")

    tag = f"cpython-{LAMBDA_PYTHON_VERSION.replace('.', '')}"
    modules = sorted(python.rglob("*.py"))
    assert modules
    for module in modules:
        assert (module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc").is_file(), module
    # Hash-based and unchecked (flags 0b01): no modification time is compared, none survives the zip.
    pyc = (python / "nudge" / "__pycache__" / f"shapes.{tag}.pyc").read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 1
    # Tracebacks name the file where Lambda has it, not the build folder.
    read_name = "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)"
    shown = subprocess.run(
        [lambda_python, "-c", read_name, str(python / "nudge" / "__pycache__" / f"shapes.{tag}.pyc")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "/opt/python/nudge/shapes.py"


def test_the_same_source_compiles_to_the_same_bytes(tmp_path: Path, lambda_python: str) -> None:
    # Otherwise every synth would change the assets' hashes and every deploy would update every function.
    first = build.copy_function("track", tmp_path / "a")
    second = build.copy_function("track", tmp_path / "b")

    build.compile_bytecode(first, lambda_python, "/var/task")
    build.compile_bytecode(second, lambda_python, "/var/task")

    assert _pyc_files(first)
    assert _pyc_files(first) == _pyc_files(second)


def test_a_deployable_build_compiles_every_folder(
    tmp_path: Path, fake_pip: FakePip, lambda_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "lambda_requirements", lambda: ["jinja2>=3.1"])

    assets = build.build_assets(tmp_path, functions=("track",), with_dependencies=True)

    assert _pyc_files(assets.functions["track"])
    assert _pyc_files(assets.domain_layer / "python")
    (install,) = fake_pip.calls
    assert "--no-compile" in install  # pip's interpreter is not Lambda's; compile_bytecode ran instead
    assert json.loads((tmp_path / "layers" / "deps.stamp.json").read_text())["bytecode"] is True


def test_without_lambdas_python_the_build_ships_source_and_says_so(
    tmp_path: Path, fake_pip: FakePip, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(build, "lambda_python", lambda: None)
    monkeypatch.setattr(build, "lambda_requirements", lambda: ["jinja2>=3.1"])

    assets = build.build_assets(tmp_path, functions=("track",), with_dependencies=True)

    assert not _pyc_files(assets.functions["track"])
    assert not _pyc_files(assets.domain_layer / "python")
    assert f"no python{LAMBDA_PYTHON_VERSION}" in capsys.readouterr().err


def test_a_layer_built_without_bytecode_is_rebuilt_with_it(tmp_path: Path, fake_pip: FakePip) -> None:
    build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"])
    build.build_dependencies_layer(tmp_path, ["jinja2>=3.1"], python=sys.executable)

    assert len(fake_pip.calls) == 2


def test_shipped_domain_code_never_imports_the_operator_tools(tmp_path: Path) -> None:
    package = build.copy_domain_layer(tmp_path) / "python" / "nudge"
    tools = {"nudge_tools"}

    imported = set()
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}

    assert not {name for name in imported if name in tools or name.startswith(tuple(f"{t}." for t in tools))}
