"""Plug-in points for channel bridges and staff front ends.

Each integration module has `build(runtime) -> Integration | None` (None when its settings
are not there). The runtime registers the outbox handlers, the app mounts the routers and
the lifespan starts and stops the background tasks (IMAP sync, Socket Mode, ...).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.runtime import Runtime

log = logging.getLogger("threadline.integrations")

Handler = Callable[[Any], Awaitable[None]]


@dataclass
class Integration:
    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    failure_hooks: dict[str, Callable[[Any, Any], Awaitable[None]]] = field(default_factory=dict)
    router: Any = None  # a FastAPI APIRouter with the webhook routes, if any
    start: Callable[[], Awaitable[None]] | None = None
    stop: Callable[[], Awaitable[None]] | None = None


# Module names under threadline.integrations; each has build(runtime).
MODULES: tuple[str, ...] = ()


def build_integrations(runtime: Runtime, modules: tuple[str, ...] = MODULES) -> list[Integration]:
    built = []
    for name in modules:
        module = importlib.import_module(f"threadline.integrations.{name}")
        integration = module.build(runtime)
        if integration is not None:
            built.append(integration)
            log.info("integration %s on: handles %s", integration.name,
                     ", ".join(sorted(integration.handlers)) or "no outbox kinds")
    return built
