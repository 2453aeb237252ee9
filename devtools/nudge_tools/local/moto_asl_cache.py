"""moto's Step Functions engine parses a state machine's ASL with ANTLR at the start of every execution:
about an eighth of the local runtime's CPU during a broadcast (measured with py-spy), for the same few
definitions again and again. This keeps the ANTLR parse tree per definition text and rebuilds only the
evaluation components from it (the cheap part, and the one that could hold state), so every execution
still gets its own program, exactly as moto would build it. Local runtime and tests only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

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
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(_parse)  # type: ignore[method-assign]


def uninstall() -> None:
    asl_parser.AmazonStateLanguageParser.parse = _ORIGINAL  # type: ignore[method-assign]
