"""Keys the staff session keeps (read by the kernel's middleware, written at sign-in)."""

SESSION_CLINIC = "clinic_id"
SESSION_EPOCH = "session_epoch"
SESSION_TOUCHED = "touched_at"  # epoch seconds of the last save that extended the session
