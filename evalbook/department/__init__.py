"""The department engine: indicator frameworks as data, rules, measurement, methods, validation."""
