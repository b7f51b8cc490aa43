"""asyncio helpers the engine needs beyond the standard library's."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not loaded at run time: the quick commands' path imports this module
if TYPE_CHECKING:
    from collections.abc import Awaitable
    from typing import TypeVar

    T = TypeVar("T")


async def wait_for(awaitable: Awaitable[T], timeout: float | None) -> T:
    """asyncio.wait_for, minus Python 3.11's lost cancellation: there, a task cancelled (Ctrl-C, SIGTERM) just as
    the awaited call finished gets the call's result and runs on, so a create would carry on after the signal."""
    import asyncio  # not at import: the CLI's quick commands never load it

    if timeout is None:
        return await awaitable
    async with asyncio.timeout(timeout):
        return await awaitable
