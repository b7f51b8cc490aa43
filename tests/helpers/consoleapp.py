"""A Textual app holding one SshConsole over an in-memory session: the console widget without a network."""

from __future__ import annotations

import asyncio

from machine_tui.tui.console import SshConsole
from textual.app import App


class MemorySession:
    def __init__(self, columns, lines):
        self.sizes = [(columns, lines)]
        self.written = b""
        self.queue: asyncio.Queue = asyncio.Queue()
        self.exit_status = None
        self.closed = False

    async def read(self):
        return await self.queue.get()

    def write(self, data):
        self.written += data

    def resize(self, columns, lines):
        self.sizes.append((columns, lines))

    def close(self):
        self.closed = True


class ConsoleApp(App):
    def __init__(self):
        super().__init__()
        self.sessions = []

    async def opener(self, columns, lines):
        self.sessions.append(MemorySession(columns, lines))
        return self.sessions[-1]

    def compose(self):
        yield SshConsole("box", self.opener)
