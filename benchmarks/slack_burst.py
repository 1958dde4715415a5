"""Slack burst benchmark: 600 inbound messages over 60 conversations into one channel,
against the fake Slack Web API enforcing a per-channel post rate with a small burst.

Prints the total time over the floor (messages / rate; target <= 1.1), the 429s received,
losses (must be 0) and per-thread order violations (must be 0).

    python -m benchmarks.slack_burst [--messages 600] [--conversations 60] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from core.inbound import InboundMessage
from core.model import Channel
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.fakes.slack_api import FakeSlack
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

CHANNEL = "C0BURST"
SEQ = re.compile(r"msg (\d+)-(\d+)")


async def run(messages: int, conversations: int, rate: float, burst: int) -> dict:
    async with FakeSlack(token="xoxb-bench") as slack:
        slack.set_channel_rate(per_second=rate, burst=burst, fractional_retry_after=True)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'burst.db'}"
            engine = create_engine(url)
            await upgrade(engine)
            settings = Settings(
                _env_file=None, THREADLINE_DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET="bench", SLACK_API_URL=slack.api_url,
                SLACK_CHANNEL=CHANNEL, SLACK_POSTS_PER_SECOND=rate, SLACK_POST_BURST=burst,
                THREADLINE_FILES_DIR=str(Path(tmp) / "files"), THREADLINE_DISPATCH_BATCH=100,
                THREADLINE_AI="off",  # the floor counts mirror posts; AI notes would add one each
            )
            config = ThreadlineConfig.model_validate({"accounts": [
                {"id": "wa", "channel": "whatsapp", "provider": "whatsapp_cloud",
                 "address": "1234567890"}]})
            runtime = Runtime(settings, config, engine=engine)
            start = time.perf_counter()
            ingest = asyncio.create_task(_ingest(runtime, messages, conversations))
            while True:
                handled = await runtime.dispatcher.run_once()
                counts = await runtime.outbox.counts()
                if ingest.done() and counts["pending"] == 0 and counts["processing"] == 0:
                    break
                if not handled:
                    await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - start
            await ingest
            failed = (await runtime.outbox.counts())["failed"]
            await engine.dispose()
        posted: dict[int, list[int]] = {}
        for m in slack.posts_in(CHANNEL):  # in ts order; a post may carry several messages
            if m.is_reply:
                for conv, seq in SEQ.findall(str(m.blocks)):
                    posted.setdefault(int(conv), []).append(int(seq))
        total_posted = len({(c, s) for c, seqs in posted.items() for s in seqs})
        violations = sum(
            sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b < a)
            for seqs in posted.values())
        return {
            "elapsed": elapsed, "floor": messages / rate, "posts": len(slack.calls(
                "chat.postMessage", ok=True)), "rate_limited": slack.rate_limited_count,
            "losses": messages - total_posted, "order_violations": violations,
            "duplicates": sum(len(v) for v in posted.values()) - total_posted,
            "failed_rows": failed,
        }


async def _ingest(runtime: Runtime, messages: int, conversations: int) -> None:
    per = messages // conversations
    for n in range(per):
        for c in range(conversations):
            await runtime.receive(InboundMessage(
                channel=Channel.WHATSAPP, account="wa", provider="whatsapp_cloud",
                provider_message_id=f"wamid.burst.{c}.{n}", sender=f"+3460{c:07d}",
                sender_name=f"Customer {c}", body=f"msg {c}-{n}",
                received_at=datetime.now(UTC)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=5)
    args = parser.parse_args()
    r = asyncio.run(run(args.messages, args.conversations, args.rate, args.burst))
    print(f"{args.messages} messages over {args.conversations} conversations, one channel "
          f"limited to {args.rate:g} posts/s (burst {args.burst})")
    print(f"total {r['elapsed']:.1f} s over floor {r['floor']:.1f} s: ratio "
          f"{r['elapsed'] / r['floor']:.2f} (target <= 1.1); posts {r['posts']} "
          f"(cards included)")
    print(f"429s received {r['rate_limited']}, losses {r['losses']}, per-thread order "
          f"violations {r['order_violations']}, duplicates {r['duplicates']}, failed outbox rows "
          f"{r['failed_rows']}")


if __name__ == "__main__":
    main()
