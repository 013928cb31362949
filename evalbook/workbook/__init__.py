"""The workbook layer: layout, names contract, the Book protocol, read/write service, serialiser."""
