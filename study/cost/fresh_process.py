"""A fresh interpreter per measurement: on CPU the rise of its resident set is then the memory the measured code
needs, not what an earlier measurement or the allocator's caching left behind."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

# glibc's malloc raises its mmap threshold as large blocks are freed and then keeps freed memory resident, which
# makes the rise of the resident set wander by tens of MB from run to run; a fixed threshold returns freed blocks.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


@contextlib.contextmanager
def _fresh_pool(workers: int, **options) -> Iterator[ProcessPoolExecutor]:
    """A pool of spawned interpreters started with MALLOC_ENV (read by their C library at start-up); this
    process's environment is as it was afterwards."""
    saved = {key: os.environ.get(key) for key in MALLOC_ENV}
    os.environ.update(MALLOC_ENV)
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, **options) as pool:
            yield pool
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value


def in_fresh_processes(fn, calls: list[tuple], workers: int = 2) -> list:
    """[fn(*args) for args in calls], each in a new interpreter as `in_fresh_process`, `workers` at a time. A
    resident set is its own process's, so runs side by side measure the same memory; they share the CPU, so `fn`
    should keep to one thread each, and times measured this way are not comparable to lone runs."""
    with _fresh_pool(workers, max_tasks_per_child=1) as pool:
        return [future.result() for future in [pool.submit(fn, *args) for args in calls]]


def in_fresh_process(fn, *args):
    """fn(*args) in a new interpreter with a fixed mmap threshold: on CPU the rise of its resident set is then
    the memory the row needs, not what an earlier row or the allocator's caching left behind."""
    with _fresh_pool(1) as pool:
        return pool.submit(fn, *args).result()
