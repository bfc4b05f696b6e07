"""Domain models, the task status machine and domain errors; imports no framework."""
