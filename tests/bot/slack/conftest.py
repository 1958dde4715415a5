import pytest

from tests.bot.slack.harness import ADA, ANA, BOB, BOSS, INBOX, OUTSIDER, start_harness
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
        await http.aclose()
        for integration in harness.runtime.integrations:
            if integration.stop is not None:
                await integration.stop()
