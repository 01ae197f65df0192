"""What UDFs write on the server's Python workers, shown where the user looks.

Spark >= 4.1 keeps a session's worker output (the session conf in `settings`) and serves it
as the table function `python_worker_logs()`. `records` and `reader` read it again and again,
each row once; `activity` and `follower` decide when a read is worth its cost; `lines` and
`bounded` make terminal lines of it, a flood cut and counted; `worker_print` runs on the
workers (sent inside every UDF pickle by `pickle_hook`): one `print` one row, named after
its UDF, and no hung capture; `worker_traceback` cuts a failed UDF's traceback to the user's
own frames. Each command hooks in with a few lines (`submit.worker_output`, `live`, `cli`).
"""
