"""The data model: one module per aggregate."""

from .alerts import Alert, AlertChannel, AlertDelivery
from .base import UTCDateTime, utcnow
from .components import Component, ComponentGroup, StatusLogEntry
from .incidents import Incident, IncidentUpdate, incident_components
from .maintenance import MaintenanceWindow, maintenance_components
from .monitors import (Certificate, Container, Endpoint, Heartbeat, MonitorHour,
                       MonitorTransition)
from .outbox import OutboxEvent
from .settings import PageSettings
from .subscribers import (NotificationDelivery, Subscriber, SubscriptionConfirmation,
                          subscriber_components)
from .tokens import ApiToken

__all__ = [
    "Alert", "AlertChannel", "AlertDelivery", "ApiToken", "Certificate", "Component",
    "ComponentGroup", "Container", "Endpoint", "Heartbeat", "Incident", "IncidentUpdate",
    "MaintenanceWindow", "MonitorHour", "MonitorTransition", "NotificationDelivery",
    "OutboxEvent", "PageSettings", "StatusLogEntry", "Subscriber", "SubscriptionConfirmation",
    "UTCDateTime", "incident_components", "maintenance_components", "subscriber_components",
    "utcnow",
]
