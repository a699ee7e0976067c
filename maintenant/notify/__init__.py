"""Email rendering and SMTP delivery jobs (the subscribers issue fills this in)."""
