"""Running an iterator a few items ahead in a thread.

The scan reads, parses and encodes the next batch (the library's encoding releases the
GIL) while this one is counted. The thread's life (its queue, stopping it when the
consumer stops early, handing its exception to the consumer) is kept here, away from
what the scan counts.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any


class _Failure:
    """An exception raised in the thread, on its way to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Run the iterator `items` in a thread, `depth` items ahead of the consumer.

    Order is kept; an exception in the thread is raised here; a consumer that stops
    early stops the thread.
    """
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:
            put(_Failure(exc))

    thread = threading.Thread(target=work, name="tokaudit-corpus-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if item is end:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
