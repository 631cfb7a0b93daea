"""Routes every provider shares: long-running operation status and result URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pros_cli.simulator.core import SimRequest, SimResponse, Simulator

_OP = r"/subscriptions/[^/]+/(?:[^?]*/)?"


def register(sim: Simulator) -> None:
    @sim.route("GET", _OP + r"operationStatuses/([^/]+)")
    def _status(s: Simulator, req: SimRequest, op_id: str) -> SimResponse:
        return s.operation_status(req, op_id)

    @sim.route("GET", _OP + r"operationResults/([^/]+)")
    def _result(s: Simulator, req: SimRequest, op_id: str) -> SimResponse:
        return s.operation_result(req, op_id)
