"""Storage backends: one subpackage per engine."""
