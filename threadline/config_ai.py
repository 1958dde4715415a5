"""The config file's `ai:` section and what AI triage takes from the rest of the file: the
tags (with their optional `keywords`), teams and templates it may suggest, the business's
own reference number formats and the lookup URLs of the customer system."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.analysis import ReferenceKind, TagVocabulary, Workspace

if TYPE_CHECKING:
    from threadline.config import ThreadlineConfig
    from threadline.settings import Settings

Kind = Literal["order", "quote", "invoice"]
MAX_PATTERN = 300


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AiConfig(_Strict):
    # Each kind's own number formats (regexes); a kind listed here replaces its defaults.
    reference_patterns: dict[Kind, list[str]] = Field(default_factory=dict)
    # Where staff look a reference up: {order: "https://erp.example.com/orders/{value}"}
    lookup_urls: dict[Kind, str] = Field(default_factory=dict)

    @field_validator("reference_patterns")
    @classmethod
    def _regexes(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, patterns in v.items():
            for i, pattern in enumerate(patterns):
                if not pattern or len(pattern) > MAX_PATTERN:
                    raise ValueError(f"{kind}[{i}]: a pattern needs 1 to {MAX_PATTERN} "
                                     "characters")
                try:
                    compiled = re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{kind}[{i}]: {pattern!r} is not a valid regular "
                                     f"expression: {exc}") from None
                if compiled.match(""):
                    raise ValueError(f"{kind}[{i}]: {pattern!r} matches empty text")
        return v

    @field_validator("lookup_urls")
    @classmethod
    def _urls(cls, v: dict[str, str]) -> dict[str, str]:
        for kind, url in v.items():
            if not re.match(r"^https?://[^\s/]+", url):
                raise ValueError(f"{kind}: {url!r} must be an http(s) URL")
            if "{value}" not in url:
                raise ValueError(f"{kind}: {url!r} needs {{value}} where the reference goes")
        return v

    def patterns(self) -> dict[ReferenceKind, list[str]] | None:
        """The business's formats for the offline engine; None keeps all its defaults."""
        if not self.reference_patterns:
            return None
        return {ReferenceKind(k): list(p) for k, p in self.reference_patterns.items()}


def workspace_of(cfg: ThreadlineConfig) -> Workspace:
    """What an analysis may name, from the config file."""
    return Workspace(
        tags=tuple(TagVocabulary(t.name.lower(), tuple(t.keywords)) for t in cfg.tags),
        teams=tuple(t.name for t in cfg.teams),
        templates=tuple(dict.fromkeys(t.name for t in cfg.templates)),
        lookup_urls={ReferenceKind(k): u for k, u in cfg.ai.lookup_urls.items()},
    )


def ai_accounts(cfg: ThreadlineConfig, settings: Settings, account_ids) -> frozenset[str]:
    """Accounts whose messages are analysed: THREADLINE_AI, which an account's own
    `settings: {THREADLINE_AI: off}` overrides."""
    from threadline.config import settings_for_account  # noqa: PLC0415 - avoids a cycle

    return frozenset(a for a in account_ids
                     if settings_for_account(cfg, settings, a).ai_enabled)
