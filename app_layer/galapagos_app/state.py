"""What the lifespan hands to every request (``request.state``)."""

from __future__ import annotations

from typing import Protocol

from galapagos_core.services import Services


class AppState(Protocol):
    services: Services
    request_id: str
