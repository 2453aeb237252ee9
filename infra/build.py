"""Build the Lambda asset folders without Docker: plain copies plus ``pip install --platform``.

Layout under the build folder (``build/``, gitignored):

- ``functions/<name>/``: the function's folder, the asset root, so the handler is ``handler.handler``.
- ``layers/nudge/python/nudge/``: the domain package, minus the operator and developer tools.
- ``layers/deps/python/``: third-party wheels for the Lambda platform, rebuilt only when the
  requirement list changes (recorded in ``layers/deps.stamp.json``).

A deployable build ships each folder with its bytecode compiled for the Lambda runtime's Python
(``compile_bytecode``): Lambda's ``/var/task`` and ``/opt`` are read-only, so a module shipped as source
alone is compiled again at every cold start, and the result thrown away.

The web console is built in its own folder, ``console/dist`` (``infra/console_build.py``: npm, when a
source is newer than the build).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.config import (
    BUILD_DIR,
    DOMAIN_PACKAGE_DIR,
    FUNCTIONS_DIR,
    LAMBDA_PYTHON_VERSION,
    LAMBDA_RUNTIME_PATHS,
    LAMBDA_WHEEL_PLATFORM,
    PYPROJECT,
    RUNTIME_PROVIDED_DISTRIBUTIONS,
)
from infra.console_build import build_console

_NEVER_SHIPPED = ("__pycache__", "*.pyc", "*.pyo")
_DISTRIBUTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class DependencyLayerError(RuntimeError):
    """pip could not produce the dependency layer (most often: no route to a package index)."""


class BytecodeError(RuntimeError):
    """The Lambda runtime's Python could not compile a folder (a syntax it does not accept)."""


@dataclass(frozen=True)
class BuiltAssets:
    functions: dict[str, Path]
    domain_layer: Path
    dependencies_layer: Path
    console: Path  # the web console's build (index.html and assets/)


def build_assets(
    build_dir: Path = BUILD_DIR,
    *,
    functions: Iterable[str],
    with_dependencies: bool = True,
) -> BuiltAssets:
    """Build every asset folder the stack needs and return where they are.

    ``with_dependencies=False`` puts a placeholder in place of the third-party layer: for tests and
    template-only work, where the layer's contents do not matter and pip must not run.
    """
    built_functions = {name: copy_function(name, build_dir) for name in functions}
    domain_layer = copy_domain_layer(build_dir)
    if with_dependencies:
        python = lambda_python()
        dependencies_layer = build_dependencies_layer(build_dir, lambda_requirements(), python)
        if python is None:
            print(_NO_LAMBDA_PYTHON, file=sys.stderr)
        else:
            for folder in built_functions.values():
                compile_bytecode(folder, python, LAMBDA_RUNTIME_PATHS["function"])
            compile_bytecode(domain_layer / "python", python, LAMBDA_RUNTIME_PATHS["layer"])
    else:
        dependencies_layer = placeholder_dependencies_layer(build_dir)
    return BuiltAssets(built_functions, domain_layer, dependencies_layer, build_console())


_NO_LAMBDA_PYTHON = (
    f"nudge infra: no python{LAMBDA_PYTHON_VERSION} here (on PATH or under pyenv): the Lambda assets ship "
    "as source only, and each cold start compiles every module again. Install that Python to ship bytecode."
)


def lambda_python() -> str | None:
    """An interpreter of the Lambda runtime's Python version on this machine, or None.

    Bytecode is only read by the version that wrote it (``__pycache__/<module>.cpython-312.pyc``), so the
    build's own interpreter will not do unless it is that version. A pyenv shim that names the version but
    has it disabled fails the check and does not count; pyenv's installed versions are tried too.
    """
    name = f"python{LAMBDA_PYTHON_VERSION}"
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        shutil.which(name),
        *sorted(map(str, pyenv_root.glob(f"versions/{LAMBDA_PYTHON_VERSION}*/bin/{name}"))),
    ]
    for candidate in candidates:
        if candidate is not None and _python_version(candidate) == LAMBDA_PYTHON_VERSION:
            return candidate
    return None


def _python_version(python: str) -> str | None:
    check = [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    done = subprocess.run(check, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
    return done.stdout.strip() if done.returncode == 0 else None


def compile_bytecode(folder: Path, python: str, runtime_path: str) -> None:
    """Compile every module under ``folder`` with ``python``, as Lambda will find it at ``runtime_path``.

    ``unchecked-hash``: Python trusts the file without comparing the source's modification time, which the
    zip and Lambda's unpacking do not keep; a deployed function's source never changes under it. The
    build folder's path is replaced by ``runtime_path`` in the code objects, so tracebacks name the files
    where Lambda has them, and the same source compiles to the same bytes (a stable asset hash: no function
    is updated by a deploy that changed nothing).
    """
    command = [
        *(python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"),
        *("-s", str(folder), "-p", runtime_path, str(folder)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
    if done.returncode != 0:
        raise BytecodeError(
            f"python{LAMBDA_PYTHON_VERSION} could not compile {folder}:\n{done.stdout}{done.stderr}"
        )


def copy_function(name: str, build_dir: Path) -> Path:
    source = FUNCTIONS_DIR / name
    if not (source / "handler.py").is_file():
        raise FileNotFoundError(f"function {name!r} has no handler.py in {source}")
    target = build_dir / "functions" / name
    _replace_tree(source, target, shutil.ignore_patterns(*_NEVER_SHIPPED))
    return target


def copy_domain_layer(build_dir: Path) -> Path:
    """Copy the domain package into a layer folder (``python/`` is what Lambda puts on sys.path)."""
    layer = build_dir / "layers" / "nudge"
    never_shipped = shutil.ignore_patterns(*_NEVER_SHIPPED)
    _replace_tree(DOMAIN_PACKAGE_DIR, layer / "python" / DOMAIN_PACKAGE_DIR.name, never_shipped)
    return layer


def lambda_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's run-time dependencies, minus what the Lambda runtime already provides."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req for req in dependencies if _canonical_name(req) not in RUNTIME_PROVIDED_DISTRIBUTIONS]


def build_dependencies_layer(build_dir: Path, requirements: Sequence[str], python: str | None = None) -> Path:
    """The third-party layer; with ``python`` (the Lambda runtime's version), its bytecode too."""
    layer = build_dir / "layers" / "deps"
    stamp = build_dir / "layers" / "deps.stamp.json"
    wanted = _stamp_record(requirements, bytecode=python is not None)
    if (layer / "python").is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return layer

    with tempfile.TemporaryDirectory(prefix="nudge-deps-") as scratch:
        pins = _resolve(requirements, Path(scratch))
        shipped = [
            f"{name}=={version}" for name, version in pins if name not in RUNTIME_PROVIDED_DISTRIBUTIONS
        ]
        staging = Path(scratch) / "layer"
        # --no-deps: the resolution above already chose every distribution, and dropped the SDK's.
        # --no-compile: pip would compile with this interpreter, whose bytecode Lambda's cannot read.
        _pip_install(["--no-deps", "--no-compile", "--target", str(staging / "python"), *shipped])
        if python is not None:
            compile_bytecode(staging / "python", python, LAMBDA_RUNTIME_PATHS["layer"])
        if layer.exists():
            shutil.rmtree(layer)
        layer.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, layer)
    stamp.write_text(json.dumps(wanted, indent=2) + "\n")
    return layer


def placeholder_dependencies_layer(build_dir: Path) -> Path:
    layer = build_dir / "layers" / "deps-placeholder"
    (layer / "python").mkdir(parents=True, exist_ok=True)
    (layer / "python" / "PLACEHOLDER.txt").write_text("Dependency layer build skipped: not deployable.\n")
    return layer


def _resolve(requirements: Sequence[str], scratch: Path) -> list[tuple[str, str]]:
    """Resolve the full dependency set for the Lambda platform without installing anything."""
    report = scratch / "resolution.json"
    # --target only because pip refuses --platform without it; a dry run writes nothing there.
    target = scratch / "unused"
    _pip_install(
        ["--dry-run", "--ignore-installed", "--report", str(report), "--target", str(target), *requirements]
    )
    installs = json.loads(report.read_text())["install"]
    return [(_canonical_name(item["metadata"]["name"]), item["metadata"]["version"]) for item in installs]


def _pip_install(arguments: list[str]) -> None:
    """``pip install`` for the Lambda platform: binary wheels only, since nothing here can compile."""
    command = [
        *(sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-color", "install", "--quiet"),
        *("--platform", LAMBDA_WHEEL_PLATFORM, "--implementation", "cp"),
        *("--python-version", LAMBDA_PYTHON_VERSION, "--only-binary=:all:"),
        *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
    if result.returncode != 0:
        raise DependencyLayerError(
            f"pip could not fetch the Lambda dependency layer ({LAMBDA_WHEEL_PLATFORM} wheels for "
            f"CPython {LAMBDA_PYTHON_VERSION}). It needs PyPI, or a wheel index holding those wheels. "
            f"pip said:\n{result.stderr.strip()[-2000:]}"
        )


def _stamp_record(requirements: Sequence[str], *, bytecode: bool) -> dict[str, object]:
    return {
        "requirements": list(requirements),
        "bytecode": bytecode,
        "platform": LAMBDA_WHEEL_PLATFORM,
        "python_version": LAMBDA_PYTHON_VERSION,
        "runtime_provided": sorted(RUNTIME_PROVIDED_DISTRIBUTIONS),
    }


def _canonical_name(requirement: str) -> str:
    match = _DISTRIBUTION_NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _replace_tree(source: Path, target: Path, ignore: Callable[[str, list[str]], Iterable[str]]) -> None:
    # A fresh copy each time, so a file deleted from the source never lingers in the asset.
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=ignore)
