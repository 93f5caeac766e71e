"""Several nodes from one identity through the bindings: two `ClawNode`s sharing one
`SecureStore` serve two real Gateways at once.

- One identity: both nodes have the same device id; the store holds one identity record.
- One device token per Gateway origin, each under its own key: the second hello does not
  overwrite the first Gateway's token.
- Invokes sent to both Gateways at once are each answered by the node (and handler) of the
  Gateway that sent them.
- Stopping one node leaves the other serving; both restart from the same store without the
  shared token (device tokens only)."""

import asyncio
import threading
from typing import Dict, Optional

from clawnode import ClawNode, ClientId, NodeConfig, SecureStore
from conftest import GatewayFixture


class DictStore(SecureStore):
    """An in-memory SecureStore shared by both nodes (calls come from library threads)."""

    def __init__(self) -> None:
        self.data: Dict[str, bytes] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> Optional[bytes]:
        with self.lock:
            return self.data.get(key)

    def put(self, key: str, value: bytes) -> None:
        with self.lock:
            self.data[key] = bytes(value)

    def delete(self, key: str) -> None:
        with self.lock:
            self.data.pop(key, None)


def make(gw: GatewayFixture, store: DictStore, name: str, token: bool = True) -> ClawNode:
    node = ClawNode(
        NodeConfig(
            gateway_url=gw.url,
            token=gw.token if token else None,
            display_name=name,
            platform="linux",
            device_family="Linux",
            client_id=ClientId.NODE_HOST,
        ),
        store=store,
    )

    @node.command("py.echo")
    async def echo(params: Dict[str, object]) -> Dict[str, str]:
        return {"from": name}

    return node


async def ready(gw: GatewayFixture, node: ClawNode) -> None:
    await node.start()
    await node.wait_for(lambda s: s.is_AWAITING_COMMAND_APPROVAL() or s.is_READY())
    if not node.state.is_READY():
        approved = await gw.call("approve_node")
        assert approved["ok"], approved
    await node.wait_for(lambda s: s.is_READY())


def test_two_nodes_share_one_store_across_two_gateways() -> None:
    home, work = GatewayFixture(["py.echo"]), GatewayFixture(["py.echo"])
    store = DictStore()

    async def main() -> None:
        a, b = make(home, store, "home"), make(work, store, "work")
        assert a.device_id == b.device_id, "one identity"
        try:
            await asyncio.gather(ready(home, a), ready(work, b))
            calls = [home.invoke(a.device_id, "py.echo", {}) for _ in range(3)]
            calls += [work.invoke(b.device_id, "py.echo", {}) for _ in range(3)]
            rs = await asyncio.gather(*calls)
            assert all(r["ok"] for r in rs), rs
            assert [r["result"]["payload"]["from"] for r in rs] == ["home"] * 3 + ["work"] * 3

            keys = sorted(store.data)
            assert keys.count("clawnode.identity") == 1, keys
            tokens = [k for k in keys if k.startswith("clawnode.token.")]
            for gw in (home, work):
                port = gw.url.rsplit(":", 1)[1].rstrip("/")
                assert len([k for k in tokens if f"127.0.0.1:{port}" in k]) == 1, (gw.url, tokens)

            # One node stops; the other keeps serving.
            await b.stop()
            r = await home.invoke(a.device_id, "py.echo", {})
            assert r["ok"] and r["result"]["payload"]["from"] == "home", r
        finally:
            await a.stop()
            await b.stop()

        # Both again from the same store, without the shared token: their device tokens.
        a, b = make(home, store, "home", token=False), make(work, store, "work", token=False)
        try:
            await asyncio.gather(ready(home, a), ready(work, b))
            r = await work.invoke(b.device_id, "py.echo", {})
            assert r["ok"] and r["result"]["payload"]["from"] == "work", r
        finally:
            await a.stop()
            await b.stop()

    try:
        asyncio.run(main())
    finally:
        home.close()
        work.close()
