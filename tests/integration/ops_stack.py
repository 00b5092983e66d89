"""The loopback gateway stack with operations attached (metrics observer, admin server, alerts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from gateway_stack import Stack

from fixgw.config import AdminConfig, AlertsConfig, GatewayConfig
from fixgw.ops.runtime import OpsRuntime

TOKEN = "test-admin-token"


@contextmanager
def ops_stack(tmp: Path, *, admin: dict[str, Any] | None = None, alerts: dict[str, Any] | None = None,
              configure: Callable[[GatewayConfig], GatewayConfig] | None = None,
              **stack_options: Any) -> Iterator[tuple[Stack, OpsRuntime]]:
    stack = Stack(tmp, **stack_options)
    update: dict[str, Any] = {"admin": AdminConfig(**{"enabled": True, "token": TOKEN, "port": 0, **(admin or {})})}
    if alerts is not None:
        update["alerts"] = AlertsConfig(**alerts)
    stack.config = stack.gateway.config = stack.config.model_copy(update=update)
    if configure is not None:
        stack.config = stack.gateway.config = configure(stack.config)
    ops: OpsRuntime | None = None
    try:
        stack.start()
        ops = OpsRuntime(stack.gateway)
        ops.start()
        yield stack, ops
    finally:
        if ops is not None:
            ops.stop()
        stack.close()


def admin_client(ops: OpsRuntime, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=ops.admin.url, headers=headers, timeout=10)
