"""The built-in plugins, imported as ``lms_graph_plugins``: each one is registered through the
``lms_graph`` entry points (pyproject.toml)."""
