"""A local Telegram Bot API server (validated against the real spec) plus a test driver.

See README.md in this folder for the endpoints and rules.
"""

from .driver import ButtonNotFound, Person, Sandbox, SentMessage
from .server import SandboxServer, run_sandbox

__all__ = ["ButtonNotFound", "Person", "Sandbox", "SandboxServer", "SentMessage", "run_sandbox"]
