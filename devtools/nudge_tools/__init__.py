"""Operator and developer tools, never shipped to Lambda: the ``nudge`` command (``cli``) and the local
runtime (``local``) it starts with ``nudge local``. They sit outside ``layers/`` (the shipped package) and
may import anything in ``nudge``; nothing in ``nudge`` or ``functions`` imports them (``make lint``)."""
