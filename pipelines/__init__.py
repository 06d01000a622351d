"""Composition: each pipeline wires sources, rules, the store and sinks for one command."""
