"""AWS access: one client factory, error classification in one place, and declared IAM permissions."""
