import pytest

from bot.slack.pacing import ChannelPacer
from core.delivery import RetryAfter


class Time:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def seconds(self):
        return self.now

    async def sleep(self, s):
        self.slept.append(s)
        self.now += s


async def test_burst_then_steady_rate_per_channel():
    t = Time()
    pacer = ChannelPacer(2.0, 3, t.seconds, t.sleep)
    for _ in range(5):
        await pacer.wait("C1")
    assert t.slept == [0.5, 0.5]  # 3 from the burst, then 2 per second
    await pacer.wait("C2")  # another channel has its own bucket
    assert len(t.slept) == 2


async def test_after_a_429_long_waits_become_retry_after():
    t = Time()
    pacer = ChannelPacer(1.0, 3, t.seconds, t.sleep)
    pacer.penalise("C1", 30)
    with pytest.raises(RetryAfter) as err:
        await pacer.wait("C1")
    assert 29 < err.value.seconds <= 30
    t.now += 30
    await pacer.wait("C1")
    assert t.slept == []
