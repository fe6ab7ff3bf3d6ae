"""`python -m tests.pg_reachable URL`: exit 0 when PostgreSQL answers at URL, else 1."""

from __future__ import annotations

import asyncio
import sys

from tests.databases import postgres_reachable

if __name__ == "__main__":
    reason = asyncio.run(postgres_reachable(sys.argv[1]))
    if reason:
        print(reason, file=sys.stderr)
    sys.exit(1 if reason else 0)
