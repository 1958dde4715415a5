"""The HTTP surface: health, readiness, metrics. Webhook routers of the bridges and front
ends mount here too (they receive the Runtime). Workers start and stop with the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from threadline.runtime import Runtime
from threadline.settings import Settings

log = logging.getLogger("threadline.app")


def create_app(settings: Settings, runtime: Runtime | None = None, *,
               start_workers: bool = True, close_runtime: bool | None = None) -> FastAPI:
    """Build the app. Without a runtime one is built from settings (and closed at shutdown)."""
    rt = runtime if runtime is not None else Runtime(settings)
    closes = close_runtime if close_runtime is not None else runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_workers:
            await rt.start_workers()
        try:
            yield
        finally:
            if closes:
                await rt.close()
            elif start_workers:
                await rt.stop_workers()

    app = FastAPI(title="Threadline", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.runtime = rt
    app.state.settings = settings
    for integration in rt.integrations:
        if integration.router is not None:
            app.include_router(integration.router)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, object] = {}
        body: dict[str, object] = {"checks": checks}
        ok = await rt.database_ok()
        checks["database"] = "ok" if ok else "unreachable"
        if ok:
            mig = await rt.migration_state()
            checks["migrations"] = {"current": mig.current, "head": mig.head}
            if mig.error:
                checks["migrations"]["error"] = mig.error  # type: ignore[index]
            ok = mig.at_head
            if not ok:
                body["hint"] = "run `threadline migrate`"
        components = rt.health.snapshot()
        if components:
            checks["components"] = components
        failed = rt.health.failed()
        if failed:  # e.g. Slack refused the token: nothing fixes itself, say what is wrong
            ok = False
            hints = [str(body["hint"])] if "hint" in body else []
            hints += [f"{name} failed: {detail or 'see the logs'}"
                      for name, detail in sorted(failed.items())]
            body["hint"] = "; ".join(hints)
        body["status"] = "ready" if ok else "not ready"
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        try:
            await rt.refresh_outbox_metrics()
        except Exception:
            log.warning("could not read outbox counts for /metrics", exc_info=True)
        return Response(rt.metrics.render(), media_type=rt.metrics.content_type)

    return app
