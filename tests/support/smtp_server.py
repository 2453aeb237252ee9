"""A tiny SMTP server on localhost for channel tests: EHLO/HELO, optional AUTH PLAIN with one fixed user,
MAIL, RCPT, DATA, RSET, NOOP, QUIT. RCPT can be made to answer 4xx/5xx, for every recipient or some; the
end of DATA can be answered with a refusal, or not at all (the connection dropped after the message)."""

from __future__ import annotations

import base64
import binascii
import socketserver
import threading
from collections.abc import Callable, Mapping
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
        _Session(self, conn).run()


class _Session:
    """One client's conversation: a method per verb, each answering it; True from one ends the session."""

    def __init__(self, server: SmtpServer, conn: socketserver.StreamRequestHandler) -> None:
        self.server = server
        self.conn = conn
        self.authed: str | None = None
        self.mail_from: str | None = None
        self.rcpt_tos: list[str] = []

    def run(self) -> None:
        verbs: dict[str, Callable[[str], bool]] = {
            "EHLO": self.ehlo,
            "HELO": self.helo,
            "MAIL": self.mail,
            "RCPT": self.rcpt,
            "DATA": self.data,
            "RSET": self.rset,
            "NOOP": self.noop,
            "QUIT": self.quit,
        }
        if self.server.user is not None:
            verbs["AUTH"] = self.auth
        self.reply("220 localhost ESMTP nudge-test")
        while line := self.conn.rfile.readline():
            text = line.decode().rstrip("\r\n")
            verb, _, arg = text.partition(" ")
            answer = verbs.get(verb.upper())
            if answer is None:
                self.reply("502 5.5.2 command not implemented")
            elif answer(arg):
                return

    def reply(self, line: str) -> None:
        self.conn.wfile.write(line.encode() + b"\r\n")
        self.conn.wfile.flush()

    def ehlo(self, _arg: str) -> bool:
        self.reply("250-localhost")
        if self.server.user is not None:
            self.reply("250-AUTH PLAIN")
        self.reply("250 HELP")
        return False

    def helo(self, _arg: str) -> bool:
        self.reply("250 localhost")
        return False

    def auth(self, arg: str) -> bool:
        mechanism, _, initial = arg.partition(" ")
        if mechanism.upper() != "PLAIN":
            self.reply("504 5.5.4 unrecognized authentication type")
            return False
        if not initial:
            self.reply("334 ")
            initial = self.conn.rfile.readline().decode().strip()
        if self._check_plain(initial):
            self.authed = self.server.user
            self.reply("235 2.7.0 authentication successful")
        else:
            self.reply("535 5.7.8 authentication credentials invalid")
        return False

    def _check_plain(self, encoded: str) -> bool:
        try:
            _, user, password = base64.b64decode(encoded).decode().split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        return user == self.server.user and password == self.server.password

    def mail(self, arg: str) -> bool:
        if self.server.user is not None and self.authed is None:
            self.reply("530 5.7.0 authentication required")
            return False
        self.mail_from, self.rcpt_tos = _path(arg), []
        self.reply("250 2.1.0 ok")
        return False

    def rcpt(self, arg: str) -> bool:
        address = _path(arg)
        answer = self.server.refuse.get(address) or self.server.rcpt_reply
        if answer:
            self.reply(answer)
        else:
            self.rcpt_tos.append(address)
            self.reply("250 2.1.5 ok")
        return False

    def data(self, _arg: str) -> bool:
        if self.mail_from is None or not self.rcpt_tos:
            self.reply("503 5.5.1 need MAIL and RCPT first")
            return False
        self.reply("354 end data with <CR><LF>.<CR><LF>")
        lines: list[bytes] = []
        while (data_line := self.conn.rfile.readline()) not in (b".\r\n", b""):
            lines.append(data_line[1:] if data_line.startswith(b".") else data_line)
        received = Received(self.mail_from, self.rcpt_tos, b"".join(lines), self.authed)
        if self.server.drop_after_data:
            self.server.messages.append(received)
            return True  # the message was taken; its answer never comes
        self.mail_from, self.rcpt_tos = None, []
        if self.server.data_reply:
            self.reply(self.server.data_reply)
            return False
        self.server.messages.append(received)
        self.reply("250 2.0.0 queued")
        return False

    def rset(self, _arg: str) -> bool:
        self.mail_from, self.rcpt_tos = None, []
        self.reply("250 2.0.0 ok")
        return False

    def noop(self, _arg: str) -> bool:
        self.reply("250 2.0.0 ok")
        return False

    def quit(self, _arg: str) -> bool:
        self.reply("221 2.0.0 bye")
        return True


def _path(arg: str) -> str:
    """The address of ``FROM:<a@b> SIZE=1`` / ``TO:<a@b>``."""
    _, _, rest = arg.partition(":")
    return rest.strip().split(" ", 1)[0].strip("<>")
