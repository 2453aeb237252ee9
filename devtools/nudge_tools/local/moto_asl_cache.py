"""moto's Step Functions engine parses a state machine's ASL with ANTLR at the start of every execution:
about an eighth of the local runtime's CPU during a broadcast (measured with py-spy), for the same few
definitions again and again. This keeps the ANTLR parse tree per definition text and rebuilds only the
evaluation components from it (the cheap part, and the one that could hold state), so every execution
still gets its own program, exactly as moto would build it. Local runtime and tests only.

The parser's modules import every service integration, and the Batch one imports ``moto.batch`` for an
enum in ``moto.batch.utils``: the package's ``__init__`` imports moto's Batch backend, which imports its
EC2 backend, which reads EC2's AMIs, instance types and regions (each region list a new boto3 session
parsing botocore's endpoints file again): about a second of CPU in every local runtime's start and every
test worker's, for services Nudge never calls. ``_import_parser`` imports the parser with the package
``moto.batch`` in place but its ``__init__`` not yet run, so only ``moto.batch.utils`` loads; the
package's ``__init__`` then runs, in that same module, the first time anything reads a name the package
does not have yet (``batch_backends``, when a Batch request reaches the embedded moto), so whoever uses
``moto.batch`` later gets moto's whole package, whose ``utils`` is the module the parser already holds.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from types import ModuleType
from typing import Any

from antlr4 import CommonTokenStream, InputStream

_PARSER = "moto.stepfunctions.parser.asl.parse.asl_parser"


def _import_parser() -> ModuleType:
    if "moto.batch" not in sys.modules and _PARSER not in sys.modules:
        import moto

        spec = importlib.util.find_spec("moto.batch")
        assert spec is not None and spec.loader is not None  # moto's own package
        package = importlib.util.module_from_spec(spec)
        loader = spec.loader

        def run_init(name: str) -> Any:
            """PEP 562's module ``__getattr__``: the package's ``__init__``, run once, on first need."""
            del package.__dict__["__getattr__"]
            loader.exec_module(package)
            return getattr(package, name)

        package.__dict__["__getattr__"] = run_init
        sys.modules["moto.batch"] = package
        moto.batch = package  # as an import of the package would set it
    return importlib.import_module(_PARSER)


asl_parser = _import_parser()
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer  # noqa: E402
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser  # noqa: E402
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # noqa: E402

_ORIGINAL = asl_parser.AmazonStateLanguageParser.parse


@lru_cache(maxsize=128)
def _tree(definition: str) -> tuple[Any, tuple[str, ...]]:
    listener = asl_parser.SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    return parser.state_machine(), tuple(listener.errors)


def _parse(definition: str) -> tuple[Any, Any]:
    tree, errors = _tree(definition)
    if errors:
        raise asl_parser.ASLParserException(errors=list(errors))
    return Preprocessor().visit(tree), tree


def install() -> None:
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(_parse)


def uninstall() -> None:
    asl_parser.AmazonStateLanguageParser.parse = _ORIGINAL
