"""A JDBC read of a real PostgreSQL through a driver given by Maven coordinates only.

The database is the OS's PostgreSQL, in a cluster this module creates in a temporary folder
(loopback, a free port) and stops; the repository is Debian's Maven layout of its packaged
jars (`/usr/share/maven-repo`, from libpostgresql-jdbc-java). `scripts/test.sh` installs
both with apt-get where it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, free_port, run_connect

pytestmark = pytest.mark.integration

DEBIAN_REPOSITORY = Path("/usr/share/maven-repo")
DRIVER = DEBIAN_REPOSITORY / "org" / "postgresql" / "postgresql"
RUN_AS = "nobody"
"""initdb and postgres refuse to run as root: as root, the cluster belongs to this user."""

READ_PEOPLE = """
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
people = (
    spark.read.format("jdbc")
    .option("url", f"jdbc:postgresql://127.0.0.1:{sys.argv[1]}/postgres")
    .option("dbtable", "people")
    .option("user", "sparkpush")
    .option("driver", "org.postgresql.Driver")
    .load()
)
for row in people.orderBy("id").collect():
    print("row:", row.id, row.name)
"""


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def driver_version() -> str | None:
    versions = sorted(p.name for p in DRIVER.glob("*") if p.name != "debian" and p.is_dir())
    return versions[-1] if versions else None


def as_cluster_user(command: list[str], folder: Path) -> list[str]:
    """`command` as RUN_AS when we are root (else as ourselves)."""
    if os.getuid() != 0:
        return command
    as_user = ["runuser", "-u", RUN_AS, "--", *command]
    if os.stat("/dev/null").st_mode & 0o002:
        return as_user
    # Some sandboxes make /dev/null root-only, which initdb's shell cannot write: give the
    # command a private mount namespace with a writable stand-in (the host is unchanged).
    stand_in = folder / "dev-null"
    stand_in.touch()
    stand_in.chmod(0o666)
    script = 'mount --bind "$0" /dev/null && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, str(stand_in), *as_user]


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    """A PostgreSQL cluster of our own with a `people` table; its port."""
    binaries = postgres_bin()
    if binaries is None or driver_version() is None:
        pytest.skip(
            "the OS packages postgresql and libpostgresql-jdbc-java are not installed "
            "(scripts/test.sh installs them with apt-get as root or with sudo -n)"
        )
    folder = Path(tempfile.mkdtemp(prefix="sparkpush-pg-", dir="/tmp"))
    if os.getuid() == 0:
        shutil.chown(folder, RUN_AS, RUN_AS if _has_group(RUN_AS) else "nogroup")
    data, port = folder / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run(
            as_cluster_user(list(command), folder), check=True, capture_output=True, timeout=120
        )

    run(str(binaries / "initdb"), "-D", str(data), "-U", "sparkpush", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    run(
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(folder / "log"),
        "-o",
        options,
        "-w",
        "start",
    )
    try:
        run(
            str(binaries / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "sparkpush",
            "-d",
            "postgres",
            "-c",
            "CREATE TABLE people (id int, name text); "
            "INSERT INTO people VALUES (1, 'ada'), (2, 'grace');",
        )
        yield port
    finally:
        stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(as_cluster_user(stop, folder), capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def test_a_jdbc_read_through_a_driver_given_by_coordinates(
    postgres: int, embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "read_people.py").write_text(READ_PEOPLE)
    (tmp_path / "empty").mkdir()
    env = {
        **embedded_server.env,
        "HOME": str(tmp_path),
        # the default repository (Maven Central) is not needed: an empty one stands in
        "DEFAULT_ARTIFACT_REPOSITORY": (tmp_path / "empty").as_uri(),
    }
    result = run_connect(
        [
            "submit",
            "--packages",
            f"org.postgresql:postgresql:{driver_version()}",
            "--repositories",
            DEBIAN_REPOSITORY.as_uri(),
            "read_people.py",
            str(postgres),
        ],
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "row: 1 ada" in result.stdout and "row: 2 grace" in result.stdout
