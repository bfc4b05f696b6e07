"""The HTTP face: thin routes, dependencies, error rendering."""
