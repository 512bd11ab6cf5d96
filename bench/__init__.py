"""Benchmarks (speed and memory); run by hand, never as timed tests. See README § Benchmarks."""
