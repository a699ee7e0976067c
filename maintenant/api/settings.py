"""/api/v1/status/settings"""

from ..schemas import SettingsIn, SettingsOut
from ..services import settings as service
from . import bp, load_body


@bp.get("/status/settings")
def get_settings():
    return SettingsOut().dump(service.get_settings())


@bp.put("/status/settings")
def update_settings():
    return SettingsOut().dump(service.update_settings(load_body(SettingsIn(), partial=True)))
