"""The core's own learner actions, registered through the same hook as any plugin's."""
