"""The inbox between a turn's worker thread and the UI: order kept, one wake-up per batch."""

from __future__ import annotations

import threading

from tui.token_inbox import TokenInbox


def test_pieces_put_from_another_thread_arrive_whole_and_in_order_with_one_wake_per_batch() -> None:
    inbox = TokenInbox()
    wakes = 0
    taken: list[str] = []
    done = threading.Event()

    def worker() -> None:
        nonlocal wakes
        for i in range(20_000):
            if inbox.put(f"{i},"):
                wakes += 1
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    while not done.is_set():
        taken.append(inbox.take())
    thread.join()
    taken.append(inbox.take())
    assert "".join(taken) == "".join(f"{i}," for i in range(20_000))
    batches = sum(1 for piece in taken if piece)
    assert wakes == batches  # every batch was announced exactly once
    assert inbox.take() == "" and inbox.put("x") is True
