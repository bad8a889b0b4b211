"""The stack's building blocks, one component per module."""
