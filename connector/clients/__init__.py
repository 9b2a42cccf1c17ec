"""HTTP clients of the two remote systems."""
