"""Plug-in points for channel bridges and staff front ends.

Each public module in this package has `build(runtime) -> Integration | None` (None when
its settings are not there); modules are discovered, so adding one needs no edit here.
The runtime registers the outbox handlers, the app mounts the routers and the lifespan
starts and stops the background tasks (IMAP sync, Socket Mode, ...).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
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


def discover() -> list[str]:
    """Public modules of this package, sorted: each is one integration."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_integrations(runtime: Runtime, modules: list[str] | None = None) -> list[Integration]:
    built = []
    for name in discover() if modules is None else modules:
        module = importlib.import_module(f"threadline.integrations.{name}")
        integration = module.build(runtime)
        if integration is not None:
            built.append(integration)
            log.info("integration %s on: handles %s", integration.name,
                     ", ".join(sorted(integration.handlers)) or "no outbox kinds")
    return built
