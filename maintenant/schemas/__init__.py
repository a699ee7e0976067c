"""marshmallow schemas: <Noun>In loads requests, <Noun>Out shapes responses."""

from .common import PageArgs, list_response
from .components import ComponentIn, ComponentOut, GroupIn, GroupOut
from .incidents import IncidentChange, IncidentIn, IncidentListArgs, IncidentOut, IncidentUpdateIn, IncidentUpdateOut
from .maintenance import MaintenanceIn, MaintenanceListArgs, MaintenanceOut
from .settings import SettingsIn, SettingsOut
from .subscribers import MaskedSubscriberOut, SubscriberListArgs, SubscriberOut

__all__ = [
    "ComponentIn", "ComponentOut", "GroupIn", "GroupOut", "IncidentChange", "IncidentIn",
    "IncidentListArgs", "IncidentOut", "IncidentUpdateIn", "IncidentUpdateOut", "MaintenanceIn",
    "MaintenanceListArgs", "MaintenanceOut", "MaskedSubscriberOut", "PageArgs", "SettingsIn",
    "SettingsOut", "SubscriberListArgs", "SubscriberOut", "list_response",
]
