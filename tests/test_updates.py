"""The update processor: one chat's updates in order, different chats at the same time."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Chat, Message, Update, User

from bot.updates import HandledUpdates, PerChatUpdateProcessor


def _update(update_id: int, chat_id: int) -> Update:
    user = User(id=chat_id, first_name="A", is_bot=False)
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    message = Message(message_id=update_id, date=None, chat=chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id=update_id, message=message)


async def test_one_chat_is_handled_in_order_and_chats_run_concurrently() -> None:
    processor = PerChatUpdateProcessor()
    handled = HandledUpdates()
    processor.done_hooks.append(handled.mark)
    log: list[str] = []
    release_slow = asyncio.Event()

    async def work(name: str, slow: bool = False) -> None:
        log.append(f"start {name}")
        if slow:
            await release_slow.wait()
        log.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(_update(1, 10), work("a1", slow=True)))
    second = asyncio.create_task(processor.process_update(_update(2, 10), work("a2")))
    other = asyncio.create_task(processor.process_update(_update(3, 20), work("b1")))
    await handled.wait(3)
    # Chat 20 finished while chat 10's first update is still running; a2 has not started.
    assert log == ["start a1", "start b1", "end b1"]
    release_slow.set()
    await asyncio.gather(first, second, other)
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert handled.is_done(1) and handled.is_done(2)
    assert processor._locks == {}  # idle chats hold no memory


async def test_the_done_hook_runs_even_when_handling_fails() -> None:
    processor = PerChatUpdateProcessor()
    handled = HandledUpdates()
    processor.done_hooks.append(handled.mark)

    async def boom() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        await processor.process_update(_update(7, 10), boom())
    assert handled.is_done(7)
