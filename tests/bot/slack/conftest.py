import pytest

from tests.bot.slack.harness import (
    ADA,
    ANA,
    BOB,
    BOSS,
    INBOX,
    OUTSIDER,
    WA_TOKEN,
    start_harness,
    stop_harness,
    whatsapp_settings,
)
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def slack():
    async with FakeSlack(token="xoxb-test") as fake:
        fake.add_user(ANA, "ana", real_name="Ana Agent", email="ana@shop.test")
        fake.add_user(BOB, "bob", real_name="Bob Builder", email="bob@shop.test")
        fake.add_user(BOSS, "boss", real_name="The Boss", email="boss@shop.test")
        # Ada is staff by her email: a configured admin, not a member of the channel.
        fake.add_user(ADA, "ada", real_name="Ada Admin", email="ada@shop.test")
        fake.add_user(OUTSIDER, "olga", real_name="Olga Outsider", email="olga@else.test")
        fake.add_channel(INBOX, "support")
        fake.set_members(INBOX, [ANA, BOB])  # the Boss is staff as a configured agent
        yield fake


@pytest.fixture
async def h(engine, slack, tmp_path):
    harness, http = await start_harness(engine, slack, tmp_path)
    try:
        yield harness
    finally:
        await stop_harness(harness, http)


@pytest.fixture
def graph():
    """A fake Meta Graph API: what it records under POST /messages reached the customer."""
    fake = FakeGraphApi(WA_TOKEN).start()
    yield fake
    fake.close()


@pytest.fixture
async def hw(engine, slack, tmp_path, graph):
    """The harness with the "wa" account sending through the real Meta bridge."""
    harness, http = await start_harness(engine, slack, tmp_path, **whatsapp_settings(graph.url))
    try:
        yield harness
    finally:
        await stop_harness(harness, http)
