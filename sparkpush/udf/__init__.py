"""UDF management: load the project's UDF modules in isolation, fingerprint, register."""
