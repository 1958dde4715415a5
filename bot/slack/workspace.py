"""What a Slack workspace must look like for Threadline to work, checked against the Web API.

Start-up uses `resolve_channels` (names -> ids) and `auth_problem` (one sentence per
refused token); `threadline check-config --online` uses `check_workspace`. A configuration
that cannot work raises `SlackSetupError` with what to fix; network trouble and 5xx
answers propagate unchanged because retrying those can help.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Error codes meaning the token itself is unusable: nothing succeeds until it is replaced.
AUTH_ERRORS: frozenset[str] = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "not_allowed_token_type", "invalid_token",
    "not_bearer_token",  # an incompatible kind of token
    "authorization_not_found",  # the installation behind the token was revoked
    "team_access_not_granted",  # the token has no access to this workspace
})

# manifest.yml oauth_config.scopes.bot (a test keeps the two equal).
REQUIRED_SCOPES: tuple[str, ...] = (
    "app_mentions:read", "channels:history", "channels:read", "chat:write",
    "chat:write.customize", "commands", "files:read", "files:write", "groups:history",
    "groups:read", "im:history", "im:write", "reactions:read", "reactions:write",
    "users:read", "users:read.email",
)
BOT_NAME = "Threadline"  # manifest.yml features.bot_user.display_name

_TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable",
                     "request_timeout", "ratelimited"}
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")  # names are lower-case, ids upper-case
_BOT_TOKEN_HINT = ("copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions after "
                   "installing the app")
_APP_TOKEN_HINT = ("create an app-level token with connections:write under Basic "
                   "Information -> App-Level Tokens")
_NOT_FOUND_HINT = ("use the channel id instead (channel details -> About -> Channel ID), or "
                   f"invite @{BOT_NAME} to the private channel first (`/invite @{BOT_NAME}`)")


class SlackSetupError(Exception):
    """A Slack configuration that cannot work; `str()` says what to fix."""


@dataclass(frozen=True, slots=True)
class WorkspaceCheck:
    """One line of `check-config --online`. `checked=False`: not checked, `detail` says why
    (`ok` then says whether that blocks: False when a failed check made it impossible)."""

    name: str
    ok: bool
    detail: str
    checked: bool = True


def is_channel_id(value: str) -> bool:
    """A Slack conversation id (C…, G… or D… in upper case: channel names are lower-case)."""
    return bool(_CHANNEL_ID.fullmatch(value))


def auth_problem(error: str, setting: str) -> str:
    """One sentence: Slack refused the token in `setting` with `error`, and what to do."""
    app = setting == "SLACK_APP_TOKEN"
    hint = _APP_TOKEN_HINT if app else _BOT_TOKEN_HINT
    why = {
        "not_allowed_token_type": ("it is not an app-level token (xapp-…)" if app
                                   else "it is not a bot token (xoxb-…)"),
        "token_revoked": "the token was revoked or the app uninstalled",
        "account_inactive": "the app was uninstalled or the workspace deleted",
        "authorization_not_found": "the app was uninstalled",
        "token_expired": "the token expired (token rotation is on: turn it off)",
        "not_authed": "no token was sent",
    }.get(error)
    reason = f"{why}; " if why else ""
    return f"{setting} was refused by Slack ({error}): {reason}{hint}"


def _code(exc: SlackApiError) -> str:
    response = exc.response
    return (response.get("error") if hasattr(response, "get") else None) or "error"


def _transient(exc: SlackApiError) -> bool:
    """Worth retrying: Slack overloaded or rate limiting (the configuration may be fine)."""
    status = getattr(exc.response, "status_code", 200) or 200
    return status >= 500 or status == 429 or _code(exc) in _TRANSIENT_ERRORS


def _setup_problem(exc: SlackApiError, method: str, setting: str) -> str | None:
    """The sentence for a configuration problem (refused token, missing scope), else None."""
    code = _code(exc)
    if code in AUTH_ERRORS:
        return auth_problem(code, setting)
    if code == "missing_scope":
        needed = exc.response.get("needed") or "a scope"
        return (f"the bot token lacks {needed} for {method}: add the bot scopes of "
                "manifest.yml under OAuth & Permissions and reinstall the app")
    return None


def _check_problem(exc: SlackApiError, method: str, setting: str) -> str:
    """For check_workspace: transient errors propagate, everything else is a problem."""
    if _transient(exc):
        raise exc
    return _setup_problem(exc, method, setting) or f"{method} failed ({_code(exc)})"


def _name(value: str) -> str:
    return value.strip().removeprefix("#").lower()


async def _channels_by_name(client: AsyncWebClient) -> dict[str, str]:
    """Every public channel and every private one the bot is in: name -> id."""
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        try:
            page = await client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000,
                **({"cursor": cursor} if cursor else {}))
        except SlackApiError as exc:
            problem = _setup_problem(exc, "conversations.list", "SLACK_BOT_TOKEN")
            if problem is None:
                raise
            raise SlackSetupError(problem) from None
        for chan in page.get("channels") or []:
            found.setdefault(str(chan.get("name", "")).lower(), chan["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return found


async def resolve_channels(client: AsyncWebClient, configured: Iterable[str]) -> dict[str, str]:
    """Map every configured channel (an id, `#name` or `name`) to its id. Ids cost no API
    call; names are looked up once. SlackSetupError names every value not found."""
    values = list(dict.fromkeys(v for v in configured if v))
    out = {v: v for v in values if is_channel_id(v)}
    names = [v for v in values if v not in out]
    if not names:
        return out
    by_name = await _channels_by_name(client)
    missing = [v for v in names if _name(v) not in by_name]
    if missing:
        listed = ", ".join(f"#{_name(v)}" for v in missing)
        raise SlackSetupError(f"Slack channel{'s' if len(missing) > 1 else ''} not found: "
                              f"{listed}: {_NOT_FOUND_HINT}")
    out.update({v: by_name[_name(v)] for v in names})
    return out


# -- check-config --online -------------------------------------------------------------------


def _granted(headers) -> set[str] | None:
    """The scopes Slack names in x-oauth-scopes (None: header absent)."""
    raw = next((v for k, v in (headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
    return None if raw is None else {s.strip() for s in raw.split(",") if s.strip()}


async def _check_bot(client: AsyncWebClient) -> tuple[list[WorkspaceCheck], bool]:
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        problem = _check_problem(exc, "auth.test", "SLACK_BOT_TOKEN")
        return [WorkspaceCheck("bot token", False, problem)], False
    team = auth.get("team") or auth.get("team_id")
    checks = [WorkspaceCheck(
        "bot token", True, f"workspace {team} ({auth.get('url', '')}), bot user "
                           f"@{auth.get('user')} ({auth.get('user_id')})")]
    granted = _granted(auth.headers)
    if granted is None:
        checks.append(WorkspaceCheck("scopes", True, "Slack did not report the granted "
                                     "scopes (no x-oauth-scopes header)", checked=False))
    else:
        missing = [s for s in REQUIRED_SCOPES if s not in granted]
        checks.append(WorkspaceCheck("scopes", True, f"all {len(REQUIRED_SCOPES)} bot scopes "
                                     "granted") if not missing else WorkspaceCheck(
            "scopes", False, f"the bot token lacks {', '.join(missing)}: add them under OAuth "
            "& Permissions -> Bot Token Scopes (manifest.yml lists them) and reinstall the app"))
    return checks, True


async def _check_app_token(app_token: str, api_url: str) -> WorkspaceCheck:
    # Only asks for a Socket Mode URL; never connects (a running Threadline may be connected).
    client = AsyncWebClient(token=app_token, base_url=api_url)
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        problem = _check_problem(exc, "apps.connections.open", "SLACK_APP_TOKEN")
        return WorkspaceCheck("app token", False, problem)
    return WorkspaceCheck("app token", True, "Socket Mode connections can be opened")


async def _check_channel(client: AsyncWebClient, value: str, channel_id: str) -> WorkspaceCheck:
    label = f"channel {value}"
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:
        if _code(exc) in ("channel_not_found", "not_in_channel"):
            return WorkspaceCheck(label, False, f"{channel_id} not found: check the id (channel "
                                  "details -> About -> Channel ID); for a private channel "
                                  f"invite @{BOT_NAME} first (`/invite @{BOT_NAME}`)")
        return WorkspaceCheck(label, False,
                              _check_problem(exc, "conversations.info", "SLACK_BOT_TOKEN"))
    name = f"#{info.get('name', channel_id)}"
    if info.get("is_archived"):
        return WorkspaceCheck(label, False, f"{name} ({channel_id}) is archived: unarchive it "
                              "or configure another channel")
    if info.get("is_member") is False:
        return WorkspaceCheck(label, False, f"invite @{BOT_NAME} to {name} "
                              f"(`/invite @{BOT_NAME}`)")
    return WorkspaceCheck(label, True, f"{name} ({channel_id}), @{BOT_NAME} is a member")


async def _check_channels(client: AsyncWebClient, values: list[str]) -> list[WorkspaceCheck]:
    ids = {v: v for v in values if is_channel_id(v)}
    checks: dict[str, WorkspaceCheck] = {}
    if len(ids) < len(values):
        problem = None
        try:
            by_name = await _channels_by_name(client)
        except SlackSetupError as exc:
            by_name, problem = {}, str(exc)
        except SlackApiError as exc:
            by_name, problem = {}, _check_problem(exc, "conversations.list", "SLACK_BOT_TOKEN")
        if problem is not None:
            checks.update({v: WorkspaceCheck(f"channel {v}", False, f"cannot look up the "
                                             f"name: {problem}") for v in values if v not in ids})
        for v in values:
            if v in ids or v in checks:
                continue
            if _name(v) in by_name:
                ids[v] = by_name[_name(v)]
            else:
                checks[v] = WorkspaceCheck(f"channel {v}", False,
                                           f"#{_name(v)} not found: {_NOT_FOUND_HINT}")
    for v, channel_id in ids.items():
        checks[v] = await _check_channel(client, v, channel_id)
    return [checks[v] for v in values]


async def check_workspace(client: AsyncWebClient, *, app_token: str | None,
                          channels: Iterable[str], api_url: str) -> list[WorkspaceCheck]:
    """Check the bot token, its scopes, the app token (when set) and every channel. Network
    errors and 5xx answers propagate (nothing could be checked)."""
    values = list(dict.fromkeys(c for c in channels if c))
    checks, bot_ok = await _check_bot(client)
    skipped = "needs a bot token Slack accepts"
    if not bot_ok:
        checks.append(WorkspaceCheck("scopes", False, skipped, checked=False))
    if app_token:
        checks.append(await _check_app_token(app_token, api_url))
    if bot_ok:
        checks += await _check_channels(client, values)
    else:
        checks += [WorkspaceCheck(f"channel {v}", False, skipped, checked=False)
                   for v in values]
    return checks
