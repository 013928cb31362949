"""Core: exact numbers and readings, cells, findings, intervals, the rule-table reader, grading,
expressions, errors and safe text.  Imports nothing else of evalbook."""
