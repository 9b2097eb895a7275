"""A bounded, thread-safe LRU cache that computes each key once, even under concurrent requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheInfo:
    hits: int  # answered from the cache, including requests that waited for a computation in flight
    misses: int  # computations started
    size: int
    maxsize: int


class ComputeOnceCache(Generic[V]):
    """`get(key, compute)`: the cached value, or `compute()`'s, run by exactly one of the threads asking.

    Others asking for the same key meanwhile wait for that result (or its exception, which is not
    cached: the next request tries again). At most `maxsize` values are kept, least recently used
    evicted first; `maxsize=0` keeps nothing but still merges concurrent requests.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"maxsize must be >= 0, got {maxsize}")
        self.maxsize = maxsize
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._pending: dict[Hashable, Future[V]] = {}
        self._lock = threading.Lock()
        self._hits = self._misses = 0

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                self._hits += 1
                return self._values[key]
            waiting = self._pending.get(key)
            if waiting is None:
                future: Future[V] = Future()
                self._pending[key] = future
                self._misses += 1
            else:
                self._hits += 1
        if waiting is not None:
            return waiting.result()
        try:
            value = compute()
        except BaseException as e:
            with self._lock:
                del self._pending[key]
            future.set_exception(e)
            raise
        with self._lock:
            del self._pending[key]
            if self.maxsize:
                self._values[key] = value
                while len(self._values) > self.maxsize:
                    self._values.popitem(last=False)
        future.set_result(value)
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._values), self.maxsize)


__all__ = ["CacheInfo", "ComputeOnceCache"]
