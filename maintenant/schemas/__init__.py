"""marshmallow schemas: <Noun>In loads requests, <Noun>Out shapes responses."""

from .alerts import (AlertChannelIn, AlertChannelOut, AlertDeliveryOut, AlertDetailOut,
                     AlertListArgs, AlertOut)
from .common import PageArgs, list_response
from .components import ComponentIn, ComponentOut, GroupIn, GroupOut
from .incidents import IncidentChange, IncidentIn, IncidentListArgs, IncidentOut, IncidentUpdateIn, IncidentUpdateOut
from .maintenance import MaintenanceIn, MaintenanceListArgs, MaintenanceOut
from .monitors import (CertificateIn, CertificateOut, ContainerChange, ContainerOut, EndpointChange,
                       EndpointCreatedOut, EndpointIn, EndpointOut, HeartbeatIn, HeartbeatOut,
                       HistoryArgs, MonitorHistoryOut)
from .settings import SettingsIn, SettingsOut
from .subscribers import (MaskedSubscriberOut, SubscriberListArgs, SubscriberOut,
                          SubscriberTestIn, SubscriberTestOut)

__all__ = [
    "AlertChannelIn", "AlertChannelOut", "AlertDeliveryOut", "AlertDetailOut", "AlertListArgs",
    "AlertOut",
    "CertificateIn", "CertificateOut", "ComponentIn", "ComponentOut", "ContainerChange",
    "ContainerOut", "EndpointChange", "EndpointCreatedOut", "EndpointIn", "EndpointOut", "GroupIn",
    "GroupOut", "HeartbeatIn", "HeartbeatOut", "HistoryArgs", "IncidentChange", "IncidentIn",
    "IncidentListArgs", "IncidentOut", "IncidentUpdateIn", "IncidentUpdateOut", "MaintenanceIn",
    "MaintenanceListArgs", "MaintenanceOut", "MaskedSubscriberOut", "MonitorHistoryOut", "PageArgs",
    "SettingsIn", "SettingsOut", "SubscriberListArgs", "SubscriberOut", "SubscriberTestIn",
    "SubscriberTestOut", "list_response",
]
