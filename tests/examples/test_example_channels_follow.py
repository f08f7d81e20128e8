"""Channels: channels_follow (``socket.subscribe`` and ``socket.unsubscribe``)."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import DEADLINE, load_example

from helpers import wait_until
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_a_client_follows_and_unfollows_topics() -> None:
    app = load_example("channels_follow").app
    channels = app.channels
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/follow") as client:
            for n in range(5):
                await channels.publish("prices", {"n": n})

            async def command(op: str, topic: str) -> None:
                await client.send_message(json.dumps({"op": op, "topic": topic}))

            await command("follow", "prices")
            # The last three kept, then the answer.
            got = [json.loads(await client.get_message()) for _ in range(4)]
            assert got == [{"n": 2}, {"n": 3}, {"n": 4}, {"ok": "follow", "topic": "prices"}]
            await channels.publish("prices", {"n": 5})
            assert json.loads(await client.get_message()) == {"n": 5}
            await command("unfollow", "prices")
            assert json.loads(await client.get_message()) == {"ok": "unfollow", "topic": "prices"}
            await command("follow", "news")
            assert json.loads(await client.get_message()) == {"ok": "follow", "topic": "news"}
            await channels.publish("prices", {"n": 6})  # not followed any more
            await channels.publish("news", "hello")
            assert json.loads(await client.get_message()) == "hello"
        await wait_until(lambda: channels.statistics().subscribers == 0)
