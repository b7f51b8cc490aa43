"""The embedded SSH console: the terminal model (pyte + alternate screen + scrollback + the fast path for floods),
the keys it sends, the widget with an in-memory session, and the app's console against a real sshd."""

from __future__ import annotations

import pytest
from conftest import wait_until
from consoleapp import ConsoleApp
from machine_tui.core.operations import TLSFiles, build_host
from machine_tui.core.store import Store
from machine_tui.core.terminal import DECCKM, TerminalModel, encode_mouse, encode_paste, mouse_tracking
from machine_tui.tui.app import MachineTable, MachineTuiApp
from machine_tui.tui.console import SshConsole
from machine_tui.tui.console import encode_textual_key as encode_key


# ----- the model
def test_scrollback_keeps_what_scrolled_off():
    m = TerminalModel(20, 3)
    m.feed(b"".join(b"line %d\r\n" % i for i in range(10)))
    text = m.text_lines()
    assert text[:8] == [f"line {i}" for i in range(8)] and text[8:] == ["line 8", "line 9", ""]
    assert m.cursor.y == 2 and len(m.scrollback) == 8


def test_alternate_screen_restores_the_shell_screen():
    m = TerminalModel(20, 4)
    m.feed(b"$ ls\r\nfile1\r\n$ vim")
    m.feed(b"\x1b[?1049h\x1b[H\x1b[2J~\r\n~\r\n~ VIM")
    assert m.in_alternate_screen and m.display[2].startswith("~ VIM")
    m.feed(b"\x1b[?1049l")
    assert not m.in_alternate_screen
    assert [line.rstrip() for line in m.display] == ["$ ls", "file1", "$ vim", ""]
    assert (m.cursor.x, m.cursor.y) == (5, 2)
    assert len(m.scrollback) == 0  # full-screen programs leave nothing in the scrollback


def test_the_flood_fast_path_gives_what_pyte_gives():
    data = b"".join(b"row %d %s\r\n" % (i, b"x" * (i % 97)) for i in range(3000)) + b"prompt$ "
    fast, slow = TerminalModel(40, 10), TerminalModel(40, 10)
    fast.feed(b"\x1b[1mbold head\x1b[0m\r\n")
    slow.feed(b"\x1b[1mbold head\x1b[0m\r\n")
    for i in range(0, len(data), 65536):
        fast.feed(data[i:i + 65536])
    for i in range(0, len(data), 1000):  # small pieces always go through pyte
        slow.feed(data[i:i + 1000])
    assert fast.text_lines() == slow.text_lines()
    assert (fast.cursor.x, fast.cursor.y) == (slow.cursor.x, slow.cursor.y)
    assert fast.scrollback[0][0].bold  # the styled head line kept its style


def test_the_fast_path_keeps_colours_and_cut_line_ends():
    data = b"".join(b"\x1b[32m%05d\x1b[0m \x1b[1;31mERR\x1b[0m %s\r\n" % (i, b"y" * (i % 61)) for i in range(4000))
    fast, slow = TerminalModel(50, 12), TerminalModel(50, 12)
    for i in range(0, len(data), 65535):  # odd sizes: CR LF pairs get cut between reads
        fast.feed(data[i:i + 65535])
    for i in range(0, len(data), 999):
        slow.feed(data[i:i + 999])
    assert fast.text_lines() == slow.text_lines()

    def styles(model):
        out = []
        for i in range(model.total_lines):
            row = model.line(i)
            cells = [(t, c.fg, c.bold) for t, c in row for t in t] if isinstance(row, list) else \
                [(row[x].data, row[x].fg, row[x].bold) for x in sorted(row) if row[x].data != " "]
            out.append([c for c in cells if c[0] != " "])
        return out

    assert styles(fast) == styles(slow)
    assert ("E", "red", True) in styles(fast)[5]


@pytest.mark.parametrize("key,char,modes,sent", [
    ("a", "a", set(), b"a"), ("enter", "\r", set(), b"\r"), ("up", None, set(), b"\x1b[A"),
    ("up", None, {DECCKM}, b"\x1bOA"), ("home", None, set(), b"\x1b[H"), ("f5", None, set(), b"\x1b[15~"),
    ("f1", None, set(), b"\x1bOP"), ("ctrl+c", None, set(), b"\x03"), ("backspace", None, set(), b"\x7f"),
    ("ctrl+left", None, set(), b"\x1b[1;5D"), ("shift+up", None, set(), b"\x1b[1;2A"),
    ("ctrl+pageup", None, set(), b"\x1b[5;5~"), ("alt+x", "x", set(), b"\x1bx"), ("shift+tab", None, set(), b"\x1b[Z"),
    ("escape", "\x1b", set(), b"\x1b"), ("delete", None, set(), b"\x1b[3~"), ("shift+f1", None, set(), b"\x1b[1;2P"),
    ("é", "é", set(), "é".encode()),
])
def test_keys_are_sent_as_xterm_sends_them(key, char, modes, sent):
    assert encode_key(key, char, modes) == sent


def test_paste_is_bracketed_when_the_program_asks():
    assert encode_paste("a\nb", set()) == b"a\rb"
    assert encode_paste("a\nb", {2004 << 5}) == b"\x1b[200~a\rb\x1b[201~"


# ----- the widget, with a session in memory
@pytest.mark.parametrize("asked, event, sent", [
    (b"", ("down", 1, 4, 2), b""),  # the program did not ask: nothing goes out
    (b"\x1b[?1000h\x1b[?1006h", ("down", 1, 4, 2), b"\x1b[<0;5;3M"),
    (b"\x1b[?1000h\x1b[?1006h", ("up", 3, 4, 2), b"\x1b[<2;5;3m"),
    (b"\x1b[?1000h\x1b[?1006h", ("wheel", 5, 0, 0), b"\x1b[<65;1;1M"),
    (b"\x1b[?1000h\x1b[?1006h", ("move", 1, 1, 1), b""),  # 1000 reports no motion
    (b"\x1b[?1002h\x1b[?1006h", ("move", 1, 1, 1), b"\x1b[<32;2;2M"),  # drags with 1002
    (b"\x1b[?1002h", ("move", 0, 1, 1), b""),  # but not bare moves
    (b"\x1b[?1003h", ("move", 0, 1, 1), b"\x1b[MC\"\""),  # which 1003 reports, legacy encoding
    (b"\x1b[?1000h", ("up", 1, 4, 2), b"\x1b[M#%#"),  # legacy: a release does not name its button
    (b"\x1b[?9h", ("up", 1, 4, 2), b""),  # X10 mode: presses only
    (b"\x1b[?1000h", ("down", 1, 300, 2), b""),  # beyond one byte: xterm sends nothing
])
def test_mouse_reports_follow_what_the_program_asked_for(asked, event, sent):
    m = TerminalModel(80, 24)
    m.feed(asked)
    assert encode_mouse(*event, m.mode) == sent


def test_mouse_modifiers_and_the_end_of_tracking():
    m = TerminalModel(80, 24)
    m.feed(b"\x1b[?1000h\x1b[?1006h")
    assert encode_mouse("down", 1, 0, 0, m.mode, shift=True, ctrl=True) == b"\x1b[<20;1;1M"
    m.feed(b"\x1b[?1000l")  # vim quits
    assert mouse_tracking(m.mode) == 0 and encode_mouse("down", 1, 0, 0, m.mode) == b""


async def focused_session(pilot, app):
    """The console focused and its in-memory session open."""
    con = app.query_one(SshConsole)
    con.focus()
    assert await wait_until(pilot, lambda: app.sessions)
    return con, app.sessions[0]


async def test_console_widget_keys_output_resize_and_end():
    app = ConsoleApp()
    async with app.run_test(size=(60, 12)) as pilot:
        con, s = await focused_session(pilot, app)
        assert s.sizes[0] == (57, 10)  # the pane inside its border and scrollbar
        await pilot.press("l", "s", "enter", "up", "ctrl+c", "tab", "f5")
        assert s.written == b"ls\r\x1b[A\x03\t\x1b[15~"
        s.queue.put_nowait(b"\x1b[31;1mred\x1b[0m plain")
        assert await wait_until(pilot, lambda: "red plain" in con.render_line(0).text)
        first = con.render_line(0)._segments[0]
        assert first.text == "red" and first.style.bold and first.style.color.name == "red"
        # a query from the remote side is answered (programs that probe the terminal do not stall)
        s.queue.put_nowait(b"\x1b[6n")
        assert await wait_until(pilot, lambda: s.written.endswith(b"\x1b[1;10R"))
        await pilot.resize_terminal(80, 20)
        assert await wait_until(pilot, lambda: s.sizes[-1] == (77, 18))
        s.exit_status = 0
        s.queue.put_nowait(b"")
        assert await wait_until(pilot, lambda: con.ended)
        assert any("session ended (exit 0)" in line for line in con.model.text_lines())
        await pilot.press("r")  # reconnect
        assert await wait_until(pilot, lambda: len(app.sessions) == 2 and not con.ended)


async def test_console_survives_a_flood_and_stays_responsive():
    app = ConsoleApp()
    async with app.run_test(size=(100, 30)) as pilot:
        con, s = await focused_session(pilot, app)
        block = b"".join(b"log line %06d: something happened\r\n" % i for i in range(20000))
        for i in range(0, len(block), 65536):
            s.queue.put_nowait(block[i:i + 65536])
        await pilot.press("q")  # typed while the flood is drawn
        assert await wait_until(pilot, lambda: "log line 019999" in "\n".join(con.model.text_lines()[-5:]), 20)
        assert s.written == b"q"
        assert len(con.model.scrollback) == 10_000  # bounded
        await pilot.pause(0.2)
        assert "log line 019999" in "".join(con.render_line(y).text for y in range(con.size.height))


async def test_console_mouse_goes_to_programs_that_track_it_and_selects_and_copies_otherwise():
    app = ConsoleApp()
    async with app.run_test(size=(60, 12)) as pilot:
        con, s = await focused_session(pilot, app)
        s.queue.put_nowait(b"\x1b[?1000h\x1b[?1006h")  # as vim with mouse=a
        assert await wait_until(pilot, lambda: mouse_tracking(con.model.mode) == 1000)
        await pilot.click(SshConsole, offset=(5, 3))  # inside the border: cell (4, 2)
        assert s.written == b"\x1b[<0;5;3M\x1b[<0;5;3m"
        await pilot.click(SshConsole, offset=(5, 3), shift=True)  # shift keeps the mouse here, as in xterm
        assert s.written == b"\x1b[<0;5;3M\x1b[<0;5;3m"
        s.written = b""
        s.queue.put_nowait(b"\x1b[?1000l\x1b[?1006lhello world\r\nsecond line")
        assert await wait_until(pilot, lambda: "second line" in con.render_line(1).text)
        # drag from "world" on the first line to "second" on the next
        await pilot.mouse_down(SshConsole, offset=(7, 1))
        await pilot.hover(SshConsole, offset=(6, 2))
        await pilot.mouse_up(SshConsole, offset=(6, 2))
        assert app.clipboard == "world\nsecond"
        assert s.written == b""  # nothing went to the remote side
        marked = [seg.text for seg in con.render_line(0)._segments if seg.style and seg.style.bgcolor
                  and seg.style.bgcolor == SshConsole.SELECTION_STYLE.bgcolor]
        assert "".join(marked) == "world" + " " * (con.model.columns - len("hello world"))
        await pilot.press("x")  # typing drops the selection
        assert s.written == b"x"
        assert not any(seg.style and seg.style.bgcolor == SshConsole.SELECTION_STYLE.bgcolor
                       for seg in con.render_line(0)._segments)


# ----- the app's console on a real sshd
def add_ssh_machine(store_path, name, sshd):
    store = Store(store_path)
    opts = {"generic-ip-address": "127.0.0.1", "generic-ssh-port": sshd.port, "generic-ssh-key": sshd.key,
            "generic-ssh-user": sshd.user}
    host, driver = build_host(store, name, "generic", opts, TLSFiles())
    driver.config["SSHKeyPath"] = sshd.key  # what `create` would have copied in
    store.create_machine_dir(name)
    store.save(host)


async def console_opened(pilot, app, machines: int) -> SshConsole:
    """Wait for the table, press t on the first machine, wait for its shell session."""
    table = app.query_one(MachineTable)
    assert await wait_until(pilot, lambda: table.row_count == machines)
    await pilot.press("t")
    con = app.query_one(SshConsole)
    assert await wait_until(pilot, lambda: con.session is not None and at_prompt(con), 30)
    return con


def at_prompt(con) -> bool:
    """The shell has finished starting (its profile may run tools that must not be cut off half-way, e.g. pyenv's
    rehash, which leaves a lock behind that stalls every later login on this machine)."""
    lines = [line for line in con.model.text_lines() if line.strip()]
    return bool(lines) and lines[-1].rstrip().endswith(("$", "#"))


async def test_console_pane_runs_a_real_shell_over_ssh(store, sshd):
    add_ssh_machine(store, "box", sshd)
    add_ssh_machine(store, "box2", sshd)
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=5)
    async with app.run_test(size=(120, 40)) as pilot:
        con = await console_opened(pilot, app, 2)
        table = app.query_one(MachineTable)
        await pilot.press(*"echo hello-$((6*7)); stty size", "enter")
        assert await wait_until(pilot, lambda: "hello-42" in "\n".join(con.model.text_lines()), 15)
        rows, cols = con.model.lines, con.model.columns
        assert await wait_until(pilot, lambda: f"{rows} {cols}" in con.model.text_lines(), 5)
        # a full-screen program: the shell's screen is back after it exits
        await pilot.press(*"printf '\\033[?1049h\\106ULLSCREEN'; sleep 0.3; printf '\\033[?1049l'; echo after", "enter")
        assert await wait_until(pilot, lambda: "after" in con.model.text_lines(), 10)
        assert not any("FULLSCREEN" in line for line in con.model.text_lines())
        # the pane shrinks with the window and the remote side is told
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.3)
        await pilot.press(*"stty size", "enter")
        assert await wait_until(pilot, lambda: f"{con.model.lines} {con.model.columns}" in con.model.text_lines()
                                and con.model.columns < cols, 10)
        # ctrl+] gives the keyboard back to the table; a second console opens beside the first
        await pilot.press("ctrl+right_square_bracket")
        assert table.has_focus
        await pilot.press("down", "t")
        assert await wait_until(pilot, lambda: len(app.query(SshConsole)) == 2)
        second = app.query(SshConsole).last()
        assert second.machine == "box2" and second.has_focus
        assert await wait_until(pilot, lambda: second.session is not None, 15)
        await pilot.press(*"exit", "enter")
        assert await wait_until(pilot, lambda: second.ended, 10)
        await pilot.press("x")
        assert await wait_until(pilot, lambda: len(app.query(SshConsole)) == 1)



async def test_command_palette_acts_on_a_machine_by_name(store, sshd):
    add_ssh_machine(store, "alpha", sshd)
    add_ssh_machine(store, "beta", sshd)
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=5)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 2)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "alpha"
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"console beta")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: len(app.query(SshConsole)) == 1, 10)
        con = app.query_one(SshConsole)
        assert con.machine == "beta"  # the named machine, not the one under the cursor
        assert await wait_until(pilot, lambda: con.session is not None, 15)


async def test_a_dropped_connection_and_a_tiny_terminal_keep_the_app_running(store, sshd):
    import subprocess

    add_ssh_machine(store, "box", sshd)
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=5)
    async with app.run_test(size=(120, 40)) as pilot:
        con = await console_opened(pilot, app, 1)
        subprocess.run(["pkill", "-KILL", "-P", str(sshd.proc.pid)])  # the server side of the session dies
        assert await wait_until(pilot, lambda: con.ended, 15)
        assert any("session ended" in line for line in con.model.text_lines())
        await pilot.resize_terminal(24, 6)  # far too small for anything: still running
        await pilot.pause(0.5)
        await pilot.resize_terminal(120, 40)
        await pilot.press("r")  # the server accepts new connections: the console comes back
        assert await wait_until(pilot, lambda: not con.ended and con.session is not None and at_prompt(con), 30)
        await pilot.press(*"echo back-$((1+1))", "enter")
        assert await wait_until(pilot, lambda: any("back-2" in line for line in con.model.text_lines()), 15)


async def test_a_multi_line_failure_to_open_is_drawn_line_by_line_not_as_a_staircase():
    from machine_tui.tui.console import SshConsole
    from textual.app import App

    class Refused(App):
        async def opener(self, columns, lines):
            raise OSError("SSH refused:\nhost key changed\n\x1b[31mremote said no")

        def compose(self):
            yield SshConsole("box", self.opener)

    app = Refused()
    async with app.run_test(size=(100, 12)) as pilot:
        con = app.query_one(SshConsole)
        assert await wait_until(pilot, lambda: con.ended)
        lines = [line.rstrip() for line in con.model.text_lines() if line.strip()]
        assert lines[0] == "[cannot open a console on box: SSH refused:"
        assert lines[1] == "host key changed"  # from the first column: a carriage return came with the newline
        assert lines[2] == "remote said no: r reconnects, x closes, ctrl+] back to the table]"
        assert "\x1b" not in "".join(lines)
