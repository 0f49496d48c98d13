"""Month-end check-ins, reminders and their timing, period close."""
