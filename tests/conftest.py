"""Kith's own tests use the same fixtures plugin authors get from ``kith.testing``."""

import os
import tempfile

# `kith run` processes that tests start receive mail on a free port, never on 2525: a Kith
# running on this machine (./dev up) must not make them fail, nor they it.
os.environ["KITH_SMTP_PORT"] = "0"
# installed plugins (examples/kith-renewals) stay out of the core suite and its subprocesses
os.environ["KITH_LOAD_ENTRY_POINTS"] = "0"

# ... and write backups and imports into a temporary folder, never into the working directory
# (the API fuzzer runs every command, backup.create included, against a `kith run`).
_scratch = tempfile.mkdtemp(prefix="kith-tests-")
os.environ["KITH_BACKUP_DIR"] = os.path.join(_scratch, "backups")
os.environ["KITH_IMPORT_DIR"] = os.path.join(_scratch, "imports")
