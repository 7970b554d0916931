"""Union-find over document indices (one integer per document, nothing keyed by content).

The root of every set is its smallest index, so the document kept from a cluster is the first one
in input order, and the sets do not depend on the order edges arrive in."""

from __future__ import annotations


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))  # a list beats a NumPy array for scalar reads and writes

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, x: int, y: int) -> bool:
        """Join the sets of ``x`` and ``y``; False if they were already one."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        if rx < ry:
            self.parent[ry] = rx
        else:
            self.parent[rx] = ry
        return True

    def roots(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]
