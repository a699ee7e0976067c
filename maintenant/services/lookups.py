"""Loading objects by id: 404 for an id in the path, 422 for an id inside a body."""

from ..errors import Invalid, NotFound
from ..extensions import db


MAX_ID = 2**31 - 1


def get_or_404(model, object_id, noun):
    """The object with ``object_id`` (an id from a path), or NotFound."""
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None:
        raise NotFound(f"No {noun} with id {object_id}.")
    return obj


def resolve_ids(model, ids, field, noun="id"):
    """The objects named by ``ids`` in a request body, in the given order.

    Raises:
        Invalid: naming ``field`` when any id is unknown.
    """
    if ids is None:
        return None
    ids = list(ids)
    found = {obj.id: obj for obj in db.session.scalars(db.select(model).where(model.id.in_(ids)))} \
        if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        message = f"Unknown {noun}: {name_some(missing)}."
        raise Invalid(message, {field: [message]})
    return [found[i] for i in ids]


def name_some(ids, shown=10):
    """``1, 2, 3``; a long list names its first ``shown`` ids, then ``and 990 more``."""
    listed = ", ".join(map(str, ids[:shown]))
    return listed if len(ids) <= shown else f"{listed} and {len(ids) - shown} more"


def resolve_id(model, object_id, field, noun="id"):
    """The object named by one id in a request body (None stays None)."""
    if object_id is None:
        return None
    return resolve_ids(model, [object_id], field, noun)[0]


def paginate(query, limit, offset):
    """(items, total) of a select, with ``limit``/``offset``."""
    total = db.session.scalar(db.select(db.func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(limit).offset(offset)).all()
    return items, total
