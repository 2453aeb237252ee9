"""A tiny SMTP server on localhost for channel tests: EHLO/HELO, optional AUTH PLAIN with one fixed user,
MAIL, RCPT, DATA, RSET, NOOP, QUIT. RCPT can be made to answer 4xx/5xx, for every recipient or some; the
end of DATA can be answered with a refusal, or not at all (the connection dropped after the message)."""

from __future__ import annotations

import base64
import binascii
import socketserver
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # as sent, dot-unstuffed, CRLF line endings, without the final "."
    user: str | None  # who authenticated, if anyone


@dataclass
class SmtpServer:
    user: str | None = None
    password: str | None = None
    rcpt_reply: str | None = None  # e.g. "450 4.2.1 mailbox busy" for every recipient
    refuse: Mapping[str, str] = field(default_factory=dict)  # address -> reply, for some recipients
    # After the message's final ".": this reply instead of 250 (e.g. "451 4.3.0 try later"), or, with
    # ``drop_after_data``, none at all: the connection closes, as when the answer is lost.
    data_reply: str | None = None
    drop_after_data: bool = False
    messages: list[Received] = field(default_factory=list)
    port: int = 0

    def __enter__(self) -> SmtpServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner._session(self)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _session(self, conn: socketserver.StreamRequestHandler) -> None:
        def reply(line: str) -> None:
            conn.wfile.write(line.encode() + b"\r\n")
            conn.wfile.flush()

        def check_plain(encoded: str) -> bool:
            try:
                _, user, password = base64.b64decode(encoded).decode().split("\0")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return False
            return user == self.user and password == self.password

        authed: str | None = None
        mail_from: str | None = None
        rcpt_tos: list[str] = []
        reply("220 localhost ESMTP nudge-test")
        while line := conn.rfile.readline():
            text = line.decode().rstrip("\r\n")
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                reply("250-localhost")
                if self.user is not None:
                    reply("250-AUTH PLAIN")
                reply("250 HELP")
            elif verb == "HELO":
                reply("250 localhost")
            elif verb == "AUTH" and self.user is not None:
                mechanism, _, initial = arg.partition(" ")
                if mechanism.upper() != "PLAIN":
                    reply("504 5.5.4 unrecognized authentication type")
                    continue
                if not initial:
                    reply("334 ")
                    initial = conn.rfile.readline().decode().strip()
                if check_plain(initial):
                    authed = self.user
                    reply("235 2.7.0 authentication successful")
                else:
                    reply("535 5.7.8 authentication credentials invalid")
            elif verb == "MAIL":
                if self.user is not None and authed is None:
                    reply("530 5.7.0 authentication required")
                    continue
                mail_from, rcpt_tos = _path(arg), []
                reply("250 2.1.0 ok")
            elif verb == "RCPT":
                address = _path(arg)
                answer = self.refuse.get(address) or self.rcpt_reply
                if answer:
                    reply(answer)
                else:
                    rcpt_tos.append(address)
                    reply("250 2.1.5 ok")
            elif verb == "DATA":
                if mail_from is None or not rcpt_tos:
                    reply("503 5.5.1 need MAIL and RCPT first")
                    continue
                reply("354 end data with <CR><LF>.<CR><LF>")
                lines: list[bytes] = []
                while (data_line := conn.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data_line[1:] if data_line.startswith(b".") else data_line)
                if self.drop_after_data:
                    self.messages.append(Received(mail_from, rcpt_tos, b"".join(lines), authed))
                    return  # the message was taken; its answer never comes
                if self.data_reply:
                    reply(self.data_reply)
                    mail_from, rcpt_tos = None, []
                    continue
                self.messages.append(Received(mail_from, rcpt_tos, b"".join(lines), authed))
                mail_from, rcpt_tos = None, []
                reply("250 2.0.0 queued")
            elif verb == "RSET":
                mail_from, rcpt_tos = None, []
                reply("250 2.0.0 ok")
            elif verb == "NOOP":
                reply("250 2.0.0 ok")
            elif verb == "QUIT":
                reply("221 2.0.0 bye")
                return
            else:
                reply("502 5.5.2 command not implemented")


def _path(arg: str) -> str:
    """The address of ``FROM:<a@b> SIZE=1`` / ``TO:<a@b>``."""
    _, _, rest = arg.partition(":")
    return rest.strip().split(" ", 1)[0].strip("<>")
