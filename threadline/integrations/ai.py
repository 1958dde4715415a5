"""AI triage jobs: `analyze:message` rows, written with each customer message that has
text, run the configured analyzer outside any transaction and record the result through
the core (one private note, the suggested tags that exist, urgent, ai_analyzed rules)."""

from __future__ import annotations

import logging

from core.usecases.analysis import ANALYZE
from threadline.ai.engines import build_analyzer, with_stored, workspace_of
from threadline.integrations import Integration

log = logging.getLogger("threadline.ai")

KIND = f"{ANALYZE}:message"


class AiIntegration:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.analyzer = build_analyzer(runtime.settings, runtime.config)
        self.workspace = workspace_of(runtime.config)

    async def handle(self, row) -> None:
        inbox = self.runtime.inbox
        job = await inbox.analysis_job(int(row.payload["message_id"]))
        if job is None or job.account not in inbox.ctx.ai_accounts:
            return  # gone, done already, or AI was turned off for its account since
        tags = [t.name for t in await inbox.tags()]
        teams = [t.name for t in await inbox.teams()]
        analysis = await self.analyzer.analyze(job.request, with_stored(self.workspace, tags,
                                                                        teams))
        if await inbox.record_analysis(job.message_id, analysis) is not None:
            self.runtime.metrics.analysed(analysis.engine)

    async def stop(self) -> None:
        close = getattr(self.analyzer, "aclose", None)
        if close is not None:
            await close()


def build(runtime) -> Integration | None:
    if not runtime.inbox.ctx.ai_accounts:
        return None
    ai = AiIntegration(runtime)
    log.info("AI triage: %s engine for accounts %s", ai.analyzer.name,
             ", ".join(sorted(runtime.inbox.ctx.ai_accounts)))
    return Integration("ai", handlers={KIND: ai.handle}, stop=ai.stop)
