"""The project's JVM packages: libraries by Maven coordinates for the sessions (and the
embedded server's own class path), resolved once with the Ivy of the pyspark wheel, locked,
cached by hash, sent in the base layer."""
