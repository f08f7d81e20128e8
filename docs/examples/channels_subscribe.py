"""A subscription read in Python: Messages, and a Gap where messages were lost."""

import trio

from wsactors import Channels, Gap, Message


async def main() -> list[str]:
    seen = []
    async with Channels() as channels, channels.subscribe("prices", max_backlog=2) as sub:
        for price in (10, 11, 12, 13):  # nobody reads meanwhile: two are dropped
            await channels.publish("prices", price)
        while (item := sub.get_nowait()) is not None:
            if isinstance(item, Message):
                seen.append(f"{item.topic}: {item.data}")
            elif isinstance(item, Gap):
                seen.append(f"lost {item.count} of {item.topic} ({item.reason})")
    return seen


if __name__ == "__main__":
    print(trio.run(main))
