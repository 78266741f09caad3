"""Declare a subsystem's services, functions and channels in one place."""

from shared.topology.checks import check_system
from shared.topology.model import (
    Channel,
    Consumer,
    Endpoint,
    Function,
    Index,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Subsystem,
    Topic,
    Trigger,
)

__all__ = [
    "Channel",
    "Consumer",
    "Endpoint",
    "Function",
    "Index",
    "Role",
    "Schedule",
    "Service",
    "ServiceKind",
    "Subsystem",
    "Topic",
    "Trigger",
    "check_system",
]
