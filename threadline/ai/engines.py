"""Which analyzer runs: the offline engine, or an OpenAI-compatible model (with the offline
engine as its fall-back) when OPENAI_API_KEY is set. The CLI and the worker share this."""

from __future__ import annotations

from core.analysis import Analyzer, TagVocabulary, Workspace
from threadline.config import ThreadlineConfig
from threadline.config_ai import workspace_of
from threadline.settings import Settings


def build_analyzer(settings: Settings, config: ThreadlineConfig) -> Analyzer:
    from threadline.ai.offline import OfflineAnalyzer  # noqa: PLC0415 - lexicons load here

    offline = OfflineAnalyzer(config.ai.patterns())
    if not settings.openai_api_key:
        return offline
    from threadline.ai.openai_engine import OpenAIAnalyzer  # noqa: PLC0415

    return OpenAIAnalyzer(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                          model=settings.ai_model, fallback=offline,
                          timeout=settings.ai_timeout_seconds)


def with_stored(workspace: Workspace, tags: list[str], teams: list[str]) -> Workspace:
    """The config file's vocabulary plus tags and teams created since (from Slack): those
    can be suggested by name, without keywords."""
    known_tags = set(workspace.tag_names)
    known_teams = set(workspace.teams)
    return Workspace(
        tags=workspace.tags + tuple(TagVocabulary(t) for t in tags if t not in known_tags),
        teams=workspace.teams + tuple(t for t in teams if t not in known_teams),
        templates=workspace.templates, lookup_urls=workspace.lookup_urls)


__all__ = ["build_analyzer", "with_stored", "workspace_of"]
