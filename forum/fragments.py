"""Rendered page fragments kept in each worker's memory.

A fragment's key names everything its HTML depends on (for a topic page: the topic, its
revision counter, the page, and the policy's view variant), so a cached fragment can
never show anything its reader could not also get fresh. Readers are always checked by
policy before a fragment is looked up; the cache only saves the rendering.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Hashable
from dataclasses import dataclass
from dataclasses import field
from typing import Generic
from typing import TypeVar

T = TypeVar("T")

# Per-process marker for per-reader holes in cached HTML. Post HTML cannot contain
# comments (the sanitiser strips them), and the nonce makes a collision impossible anyway.
NONCE = secrets.token_hex(4)


@dataclass
class LRU(Generic[T]):
    """A least-recently-used map with a size budget (in bytes, as the caller counts them)."""

    budget: int
    entries: OrderedDict[Hashable, tuple[T, int]] = field(default_factory=OrderedDict)
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable) -> T | None:
        """The value, marked as recently used; None if absent."""
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            self.entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: T, size: int) -> None:
        """Store a value, evicting the least recently used beyond the budget."""
        if size > self.budget:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.used -= old[1]
            self.entries[key] = (value, size)
            self.used += size
            while self.used > self.budget:
                _key, (_value, dropped) = self.entries.popitem(last=False)
                self.used -= dropped

    def get_or_make(self, key: Hashable, make: Callable[[], tuple[T, int]]) -> T:
        """The cached value, or `make()`'s (value, size), stored."""
        found = self.get(key)
        if found is None:
            found, size = make()
            self.put(key, found, size)
        return found
