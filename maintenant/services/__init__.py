"""Domain operations: the rules live here; they record events in the outbox with the change."""
