"""Health of the parts of a running Threadline that can fail on their own (front ends,
bridges), for /readyz and the logs. A part that is "failed" needs an operator."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"  # working around a problem (e.g. the provider is unreachable)
    FAILED = "failed"  # stopped until someone fixes the configuration


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    state: State
    detail: str = ""


class Health:
    def __init__(self) -> None:
        self._parts: dict[str, ComponentHealth] = {}

    def set(self, component: str, state: State, detail: str = "") -> None:
        self._parts[component] = ComponentHealth(state, detail)

    def get(self, component: str) -> ComponentHealth | None:
        return self._parts.get(component)

    def snapshot(self) -> dict[str, dict[str, str]]:
        return {name: {"state": str(h.state), **({"detail": h.detail} if h.detail else {})}
                for name, h in sorted(self._parts.items())}

    def failed(self) -> dict[str, str]:
        return {name: h.detail for name, h in self._parts.items() if h.state is State.FAILED}
