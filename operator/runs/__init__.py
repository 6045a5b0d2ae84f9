"""PatchRun work: planning commands, sending them exactly once, tracking progress, history."""
