"""Pure normalization functions (no I/O): raw strings in, typed values out, ValueError with a reason
when a value cannot be accepted."""
