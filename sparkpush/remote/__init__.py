"""The server a command talks to: which one (--remote, SPARK_REMOTE, config, or the embedded
server; `target`) and what is known about it (`server_facts`: its Spark version, whether it
clones sessions, what its Python workers run; asked once, remembered as long as it holds)."""
