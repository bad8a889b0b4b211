"""Seeds a stack's tables with made-up channels and stream sessions, and removes them again."""
