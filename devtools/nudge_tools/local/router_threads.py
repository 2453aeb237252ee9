"""Powertools' event handler, made safe for the local gateway's threads.

An ``APIGatewayHttpResolver`` keeps the request it is resolving in class attributes of ``BaseRouter``
(``current_event``, ``lambda_context``) that every resolver in the process shares: right in Lambda, where
an execution environment runs one invocation at a time, wrong in one process serving the Track, App and
links functions at once, where two requests then answer each other's routes. ``install`` makes those two
attributes per thread, so each gateway worker sees only its own request. A resolver's own per-request
state (its ``context``) is still one per function: the gateway runs each function one invocation at a
time (``Gateway.invoking``).
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

_PER_THREAD = ("current_event", "lambda_context")
_state = threading.local()
_lock = threading.Lock()


class _ThreadValue:
    """A data descriptor whose value is the calling thread's: for ``BaseRouter.x = ...`` (through the
    metaclass below) and ``resolver.x`` (through the class)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return getattr(_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_state, self.name, value)


def install() -> None:
    """Idempotent."""
    with _lock:
        if isinstance(type(BaseRouter).__dict__.get(_PER_THREAD[0]), _ThreadValue):
            return
        for name in _PER_THREAD:
            # Read on an instance (``app.current_event``): found in the class's own dictionary.
            type.__setattr__(BaseRouter, name, _ThreadValue(name))
        # Assigned on the class (``BaseRouter.current_event = ...`` in ``resolve``): a class attribute is
        # set through its metaclass, so the metaclass carries the same descriptors.
        per_thread = {name: _ThreadValue(name) for name in _PER_THREAD}
        BaseRouter.__class__ = type("PerThreadRouterMeta", (type(BaseRouter),), per_thread)  # type: ignore[method-assign]
