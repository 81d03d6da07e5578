"""Kith's storage layer: connections, transactions and compiled statements.

piccolo declares the tables and runs migrations; Kith runs its statements through its own
engines (one SQLite writer + readers, or an asyncpg pool) with SQL compiled once per shape
from the piccolo table metadata. See docs/architecture.md, "Storage".
"""

from .base import Database, Transaction
from .codec import TableCodec, codec_for
from .factory import open_database
from .statements import Statements

__all__ = ["Database", "Statements", "TableCodec", "Transaction", "codec_for", "open_database"]
