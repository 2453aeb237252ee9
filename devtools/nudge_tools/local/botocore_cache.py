"""botocore's data files (the endpoints, each service's model), parsed once per process rather than once
per session (local runtime and tests only).

botocore keeps what a ``Loader`` parsed on the loader, and every new session has a new loader. moto starts
a session per backend to list its regions, and resets boto3's default session whenever a mock starts, so
the local runtime parsed the 1.2 MB endpoints file about seven times at start, and an integration test
(a mock of its own) parsed it and DynamoDB's model again for each test: py-spy put a tenth of the
integration tests' time in ``json.loads`` under ``botocore.loaders``. Loaders of the same class, search
paths and extras see the same files and return the same answers, so they now share them, as the clients
of one session always have (``instance_cache``): what a ``Loader`` answered for ``load_data_with_path``
and ``load_service_model`` (the model with its extras merged in, once) is kept per (loader class, search
paths, extras, arguments). Nothing that reads them changes them: botocore itself hands one loader's to
all of its clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.loaders import Loader

_ORIGINALS: dict[str, Callable[..., Any]] = {
    name: getattr(Loader, name) for name in ("load_data_with_path", "load_service_model")
}
_answers: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def _shared(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def answer(self: Loader, *args: Any, **kwargs: Any) -> Any:
        key = (
            name,
            type(self),
            tuple(self.search_paths),
            tuple(self.extras_types),
            args,
            tuple(sorted(kwargs.items())),
        )
        found = _answers.get(key, _answers)
        if found is not _answers:
            return found
        value = method(self, *args, **kwargs)  # an error (no such data) is not kept: raised each time
        with _lock:
            return _answers.setdefault(key, value)  # two threads at once: both get the first one's

    answer.__wrapped__ = method  # type: ignore[attr-defined]
    return answer


def install() -> None:
    for name, method in _ORIGINALS.items():
        setattr(Loader, name, _shared(name, method))


def uninstall() -> None:
    for name, method in _ORIGINALS.items():
        setattr(Loader, name, method)
    _answers.clear()
