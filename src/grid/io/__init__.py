"""Reading source files: formats and encodings, column mappings, validation, privacy."""
