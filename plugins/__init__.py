"""The built-in plugins. Each one is registered through the ``lms_graph`` entry points."""
