"""Bolt listeners: translate Slack events, actions, modals and commands into core calls."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import actions, commands, events, modals
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    events.register(app, services)
    actions.register(app, services)
    modals.register(app, services)
    commands.register(app, services)
