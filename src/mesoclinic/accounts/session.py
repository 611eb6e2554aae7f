"""Keys the staff session keeps (read by the kernel's middleware, written at sign-in)."""

SESSION_CLINIC = "clinic_id"
SESSION_EPOCH = "session_epoch"
