"""The processes sparkpush starts, and the `ChildProcess` seam between a parent and its child.

Process map: each process, who starts it, who stops it, and how they talk.

- embedded server (`pyspark`'s Spark Connect server, a JVM): started by `server.process`
  through `server.orphan_launch` (so its parent is not us); stopped by `connect server stop`
  (`terminate_group`). Talk: gRPC (Spark Connect) on loopback, with a token.
- worker-daemon reaper (`server.reaper`): started by `server.process` next to the server;
  stops itself once the server is gone, or is stopped with it. Talk: none; it only signals
  PySpark's `pyspark.daemon` processes.
- project daemon (`daemon.process_main`): started by `daemon.launcher` (`connect daemon
  start`); stopped by a stop message, then `terminate_group`. Talk: the project's control
  socket, JSON lines (`daemon.control_messages`).
- cold UDF loader (`udf.loader_child`): started by `udf.loading.ColdLoader`, one per load,
  through `ChildProcess`; exits on its own, killed (its process group) past a deadline. Talk:
  the request as one JSON line on stdin, then EOF; `LoaderEvent` JSON lines on stdout.
- warm UDF loader (`udf.warm_loader`): started by `WarmLoader` (daemon, sync, submit) through
  `ChildProcess`; stopped by EOF on its stdin, then a kill of its group. Talk: one JSON line
  per load on stdin; it runs each load in a fork made ahead (`udf.loader_fork.SpareFork`: the
  fork waits on a pipe of its own for its one request, and exits quietly at EOF), passes on its
  events, then an EXIT event, and forks the next spare.
- script process (`submit.script_main`): started by `submit.prefork` (a fork, first thing in
  `connect submit`) or `submit.script_process` (`python -m`); stopped by
  `submit.script_process` (the stop file, SIGINT, then a kill of its group). Talk: a pipe
  (the start message, then the run's lifeline) and `submit.control`'s files.
- probe child (`remote.worker_probe`): started by `run_worker_probe` (server facts) through
  `ChildProcess`; exits on its own, killed past `PROBE_TIMEOUT_S`. Talk: nothing in; one JSON
  line out (the workers' facts, or an error).

`ChildProcess` (`child_process`) is what a parent needs of a `python -m` child that speaks
lines on its stdin and stdout. The probe child and the cold and warm UDF loaders are started
through it, so their handshakes are unit-tested against an in-memory child
(`tests/fake_child.py`).
"""
