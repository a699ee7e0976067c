"""Monitors: one module per monitor type, and the state lookup the status rules read."""

# monitor_type -> function(ids) -> {monitor_id: state}. Each monitor module registers its
# lookup here; a type with no lookup, or an id it does not know, contributes nothing.
STATE_LOOKUPS = {}


def register_state_lookup(monitor_type, lookup):
    """Make ``lookup(ids) -> {id: state}`` the source of ``monitor_type`` states."""
    STATE_LOOKUPS[monitor_type] = lookup


def monitor_states(refs):
    """The current state of each (monitor_type, monitor_id) in ``refs``, where one is known.

    Returns:
        {(monitor_type, monitor_id): state}; unknown monitors are simply absent.
    """
    by_type = {}
    for monitor_type, monitor_id in refs:
        if monitor_type is not None and monitor_id is not None:
            by_type.setdefault(monitor_type, set()).add(monitor_id)
    states = {}
    for monitor_type, ids in by_type.items():
        lookup = STATE_LOOKUPS.get(monitor_type)
        if lookup is None:
            continue
        for monitor_id, state in lookup(sorted(ids)).items():
            states[(monitor_type, monitor_id)] = state
    return states
